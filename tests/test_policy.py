"""Which questions the guide must not answer: studio business, and the asker's own medical conditions."""

from __future__ import annotations

import pytest

from assistant import policy
from assistant.engine import Assistant


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("how much is a massage?", "price"),
        ("What does a 60 minute session cost?", "price"),
        ("What are your opening hours?", "hours"),
        ("are you open on sundays?", "hours"),
        ("Can I book an appointment for tomorrow?", "booking"),
        ("how do i book", "booking"),
        ("Does my insurance cover massage?", "insurance"),
        ("Should I tip my therapist?", "tipping"),
        ("What is the weather like today?", "weather"),
        ("Will it rain tomorrow?", "weather"),
        ("Write a python function to reverse a list", "programming"),
        ("how do I fix this javascript error", "programming"),
    ],
)
def test_studio_business_is_out_of_scope(question, topic):
    assert policy.studio_topic(question) == topic
    assert policy.is_medical(question) is False
    assert Assistant.classify(question) == "out_of_scope"


@pytest.mark.parametrize(
    "question",
    [
        "I'm pregnant, can I get a massage?",
        "is massage safe during pregnancy?",
        "I have blood clots in my legs",
        "Can I get a massage with a blood clot?",
        "I injured my shoulder last week, can I still get a massage?",
        "I hurt my back yesterday, should I get a massage?",
        "I take blood thinners, is massage ok?",
        "Is massage safe if I am on medication?",
        "can massage replace my antidepressants?",
    ],
)
def test_medical_conditions_get_the_medical_referral(question):
    assert policy.is_medical(question) is True
    assert Assistant.classify(question) == "medical"


@pytest.mark.parametrize(
    "question",
    [
        "does massage help sports injuries?",
        "Can massage help with sports injuries?",
        "Is massage good for arthritis?",
        "does massage help with anxiety?",
        "Does massage lower blood pressure?",
        "does massage help recovery after surgery?",
    ],
)
def test_general_benefit_questions_are_not_medical(question):
    assert policy.is_medical(question) is False
    assert Assistant.classify(question) is None


@pytest.mark.parametrize(
    "question",
    [
        "What should I wear?",
        "does it hurt?",
        "is there research on massage and sleep?",
        "What is shiatsu?",
        "Can I fall asleep during the massage?",
        "What is a long stroke in Swedish massage?",
    ],
)
def test_guide_questions_pass_through(question):
    assert policy.studio_topic(question) is None
    assert Assistant.classify(question) is None


def test_medical_wins_over_studio_business():
    question = "I'm pregnant, how much is a prenatal massage?"
    assert policy.studio_topic(question) == "price"
    assert Assistant.classify(question) == "medical"
