"""Routing table validation and the routing rules (pure logic: no models, no database)."""
from __future__ import annotations

import pytest

from apps.finance_callcenter.routing import (RoutingTableError, TurnSignal, default_table_text, parse_table,
                                             route_call)


@pytest.fixture(scope="module")
def table():
    return parse_table(default_table_text())


def customer(i, intent=None, p=0.9, oos=False, emotion="neutral", distress=0.05):
    return TurnSignal(index=i, speaker="customer", intent=intent, intent_probability=p, out_of_scope=oos,
                      emotion=emotion, distress=distress)


def agent(i):
    return TurnSignal(index=i, speaker="agent", intent=None, intent_probability=0.0, out_of_scope=False,
                      emotion="neutral", distress=0.0)


def test_default_table_routes_every_banking77_intent_once(table):
    routed = [i for intents in table.routes.values() for i in intents]
    assert len(routed) == len(set(routed)) == 77
    assert table.queue_for("card_arrival") == "cards"
    assert table.queue_for("something_new") == table.default_queue


@pytest.mark.parametrize("edit, message", [
    (("cards: [card_arrival", "cardz: [card_arrival"), "routes names the queue 'cardz'"),
    (("default_queue: general", "default_queue: nowhere"), "default_queue names the queue 'nowhere'"),
    (("  queue: priority", "  queue: vip"), "escalation.queue names the queue 'vip'"),
    (("sla_minutes: 2}", "sla_minutes: -1}"), "sla_minutes"),
    (("accounts: [age_limit", "accounts: [card_arrival, age_limit"), "routed to two queues"),
    (("  distress_turns: 2", "  distress_turns: 2\n  routes_typo: [x]"), "escalation.routes_typo: unknown setting"),
    (("default_queue: general", "defualt_queue: general"), "defualt_queue: unknown setting"),
])
def test_bad_tables_are_refused_with_a_clear_message(edit, message):
    text = default_table_text().replace(*edit, 1)
    assert text != default_table_text()
    with pytest.raises(RoutingTableError, match=message.replace("[", r"\[")):
        parse_table(text)


def test_not_yaml_and_unknown_intents_are_refused():
    with pytest.raises(RoutingTableError, match="not valid YAML"):
        parse_table("queues: [unclosed")
    with pytest.raises(RoutingTableError, match="mapping"):
        parse_table("- just a list")
    with pytest.raises(RoutingTableError, match="unknown intent.*card_arival"):
        parse_table(default_table_text().replace("[card_arrival,", "[card_arival,"), known_intents=["card_arrival"])


def test_intent_routes_to_its_queue_with_reasons(table):
    d = route_call([agent(0), customer(1, "card_arrival", 0.95), agent(2), customer(3, "card_arrival", 0.8)], table)
    assert (d.queue, d.escalated, d.primary_intent) == ("cards", False, "card_arrival")
    assert "card_arrival" in d.reasons[0] and "turn 2" in d.reasons[0]


def test_majority_of_confident_customer_turns_wins(table):
    d = route_call([customer(0, "exchange_rate", 0.6), customer(1, "card_arrival", 0.9),
                    customer(2, "card_arrival", 0.9), customer(3, "exchange_rate", 0.3)], table)
    assert d.primary_intent == "card_arrival"


def test_fraud_intent_escalates_at_once(table):
    d = route_call([customer(0, "card_payment_not_recognised", 0.9)], table)
    assert d.queue == "priority" and d.escalated
    assert any("escalation intent" in r for r in d.reasons)


def test_sustained_distress_escalates_but_a_single_outburst_does_not(table):
    once = route_call([customer(0, "card_arrival", distress=0.9, emotion="anger"), customer(1, "card_arrival")], table)
    assert not once.escalated
    sustained = route_call([customer(0, "card_arrival", distress=0.9, emotion="anger"),
                            customer(1, "card_arrival", distress=0.7, emotion="anger")], table)
    assert sustained.escalated and sustained.queue == "priority"
    assert any("sustained distress in customer turns 1-2" in r for r in sustained.reasons)


def test_agent_distress_is_ignored(table):
    loud_agent = TurnSignal(index=0, speaker="agent", intent=None, intent_probability=0, out_of_scope=False,
                            emotion="anger", distress=0.99)
    d = route_call([loud_agent, loud_agent, customer(1, "card_arrival")], table)
    assert not d.escalated


def test_out_of_scope_and_unsure_turns_go_to_triage(table):
    d = route_call([customer(0, None, 0.2, oos=True), customer(1, "card_arrival", 0.3)], table)
    assert d.queue == "triage" and d.primary_intent is None and "No banking intent" in d.reasons[0]
    assert route_call([agent(0)], table).queue == "triage"  # one-sided call: only the agent spoke
