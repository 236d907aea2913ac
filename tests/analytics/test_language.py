"""The language of each conversation: derived from the ``language`` slot (else the shopper's
texts), stored by the idempotent fold, filterable, and shown by the API."""

# Chinese text uses full-width punctuation, as Chinese shops write it.

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from insight.analytics.derive import derive, slot_language
from insight.analytics.events import RawEvent, normalise
from insight.analytics.fold import fold, rebuild_all
from insight.analytics.tables import AnalyticsConversation
from knowledge.language import LANGUAGE_SLOT


def no_category(_: str) -> str | None:
    return None


class Log:
    """A hand-built conversation: user texts and language slot events, one second apart."""

    def __init__(self, sender: str = "s") -> None:
        self.sender = sender
        self.events: list[RawEvent] = []

    def add(self, event: dict[str, Any]) -> Log:
        stamped = {**event, "timestamp": 1_700_000_000.0 + len(self.events)}
        self.events.append(normalise({"sender_id": self.sender, **stamped}))
        return self

    def user(self, text: str) -> Log:
        return self.add({"event": "user", "text": text, "parse_data": {}})

    def slot(self, value: Any, name: str = LANGUAGE_SLOT) -> Log:
        return self.add({"event": "slot", "name": name, "value": value})

    def language(self) -> str:
        facts = derive(self.sender, self.events, no_category)
        assert facts is not None
        return facts.language


def test_the_language_slot_decides_and_the_last_value_wins() -> None:
    # The slot wins over the texts, whatever they look like.
    assert Log().user("where is my order please").slot("zh").user("1003").language() == "zh"
    assert Log().user("我的订单到哪了").slot("zh").slot("en").user("ok").language() == "en"
    assert Log().slot("en").user("hello there").slot("zh-CN").language() == "zh"
    # A reset (None) or a language the shop does not serve is no answer: the last clear stays.
    assert Log().user("你好").slot("zh").slot(None).slot("fr").slot("").language() == "zh"
    # Other slots do not count.
    assert Log().user("hello there").slot("zh", name="channel_language").language() == "en"


def test_without_slot_events_the_last_clear_text_decides() -> None:
    assert Log().user("请问怎么退货？").user("1003").user("ok").language() == "zh"
    assert Log().user("我要退货").user("actually where is my parcel").language() == "en"
    assert Log().user("where is my parcel").user("我的快递呢").language() == "zh"
    # Button payloads carry no language; nothing clear at all is English.
    assert Log().user("你好").user('/product_question{"faq_id": "31"}').language() == "zh"
    assert Log().user("ok").user("1003").user("👍").language() == "en"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("zh", "zh"), ("ZH_cn", "zh"), ("en-GB", "en"), ("fr", None), (None, None), (3, None)],
)
def test_slot_language_values(value: Any, expected: str | None) -> None:
    assert slot_language(value) == expected


def stored_languages(factory: sessionmaker) -> dict[str, str]:
    with factory() as session:
        rows = session.execute(select(AnalyticsConversation)).scalars()
        return {row.sender_id: row.language for row in rows}


def test_the_fold_stores_each_conversations_language(folded: sessionmaker) -> None:
    languages = stored_languages(folded)
    assert languages == {
        **{f"c{i}": "en" for i in (1, 2, 3, 4, 5, 6, 7)},
        "c9": "zh",  # from the language slot
        "c10": "zh",  # from the text (no slot event)
    }
    assert rebuild_all(folded) == 9
    assert stored_languages(folded) == languages


def test_a_later_event_changes_the_language_whatever_order_it_arrives_in(
    folded: sessionmaker,
) -> None:
    def slot(sender: str, value: str, timestamp: float) -> RawEvent:
        return normalise(
            {
                "sender_id": sender,
                "event": "slot",
                "timestamp": timestamp,
                "name": LANGUAGE_SLOT,
                "value": value,
            }
        )

    with folded() as session:
        c9 = session.get(AnalyticsConversation, "c9")
        assert c9 is not None
        start, end = c9.started_at, c9.ended_at
    epoch = start.replace(tzinfo=timezone.utc).timestamp()
    # An English slot event logged before c9's Chinese one (arriving late) changes nothing ...
    result = fold(folded, [slot("c9", "en", epoch - 1.0)], "fixture")
    assert result.conversations == 1
    assert stored_languages(folded)["c9"] == "zh"
    # ... one logged after it switches the conversation to English; replaying changes nothing.
    later = end.replace(tzinfo=timezone.utc).timestamp() + 60
    fold(folded, [slot("c9", "en", later)], "fixture")
    assert stored_languages(folded)["c9"] == "en"
    assert fold(folded, [slot("c9", "en", later)], "fixture").conversations == 0
    assert stored_languages(folded)["c9"] == "en"


async def test_the_api_filters_and_shows_the_language(
    aiohttp_client: Any, folded: sessionmaker, shop_url: str, tmp_path: Path
) -> None:
    from insight.web.app import create_app
    from knowledge.handoff.agents import create_agent
    from tests.analytics.test_api import PASSWORD, login, make_settings

    with folded() as session, session.begin():
        create_agent(session, "kim", "Kim", PASSWORD, "supervisor", rounds=4)
    client = await aiohttp_client(create_app(make_settings(shop_url, tmp_path)))
    await login(client, "kim")

    overview = await (await client.get("/dashboard/api/overview?language=zh")).json()
    assert overview["filters"]["language"] == "zh"
    assert overview["summary"]["conversation_ids"] == ["c9", "c10"]
    assert overview["summary"]["messages"] == 4
    listing = await (await client.get("/dashboard/api/conversations?language=zh")).json()
    assert [(r["conversation_id"], r["language"]) for r in listing["rows"]] == [
        ("c10", "zh"),
        ("c9", "zh"),
    ]
    english = await (await client.get("/dashboard/api/conversations?language=en")).json()
    assert english["total"] == 7
    assert {r["language"] for r in english["rows"]} == {"en"}
    bad = await client.get("/dashboard/api/overview?language=fr")
    assert bad.status == 400
    assert (await bad.json())["param"] == "language"

    options = await (await client.get("/dashboard/api/filters")).json()
    assert options["languages"] == ["en", "zh"]
    detail = await (await client.get("/dashboard/api/conversations/c9")).json()
    assert detail["conversation"]["language"] == "zh"
    user_lines = [line["text"] for line in detail["transcript"] if line["kind"] == "user"]
    assert user_lines == ["亲，我的快递到哪了？一直没收到", "1003", "好的，谢谢！"]
    bot_lines = [line["text"] for line in detail["transcript"] if line["kind"] == "bot"]
    assert bot_lines[0] == "亲，请提供一下您的订单号哦～"
    by_language = await (await client.get("/dashboard/api/languages?format=csv")).text()
    assert by_language.splitlines()[0].startswith("language,label,conversations,share")
    assert by_language.splitlines()[2].startswith("zh,中文,2,")
