"""Demo traffic: simulated shoppers chat with the real bot so that the dashboard comes alive.

``python -m insight.demo`` (``make demo``) drives a few hundred scripted conversations through
the running Rasa server's REST channel, with messages drawn from utterances the model was never
trained on (``nlu/data/chat_heldout.csv``, the test half of ``benchmarks/data/faq_paraphrases.csv``,
the scripted churn conversations of ``benchmarks/data/churn_conversations.yml``). Escalations are
answered through the agent console's HTTP API as a demo agent would. Nothing is written to any
database directly: every row the dashboard shows comes from the bot, its actions and the console.
"""
