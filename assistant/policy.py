"""Questions the guide must not answer: studio business (prices, hours, booking…) and personal medical conditions."""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE

# Studio business the guide doesn't cover. Facts about the studio come from its own files, never the guide.
STUDIO_TOPICS: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        r"\b(price[sd]?|pricing|cost[s]?|how much (is|are|does|do|for|will|would|to|money)\b|fees?|cheap|expensive|afford\w*|discount\w*|coupons?|promo\w*|"
        r"membership|packages?|pay for|payment|cash|credit card)\b|[$€£]",
        _FLAGS,
    ),
    "hours": re.compile(
        r"\b(opening hours|business hours|your hours|what hours|hours are you|open(ing)? (on|at|until|till|today|tomorrow|late|early)|are you open|when do you (open|close)|"
        r"close[sd]? (on|at|today)|closing time|weekends?|sundays?|saturdays?|holidays?)\b",
        _FLAGS,
    ),
    "booking": re.compile(
        r"\b(book(ing)? (an?|my|the|a session|online|now)|make an? (appointment|booking|reservation)|reserv(e|ation)|"
        r"(how|where|can i|could i|want to|like to|id like to|i'd like to)\b.{0,30}\b(book|schedule)|"
        r"availability|available (slots?|times?|today|tomorrow)|openings?|walk[- ]?ins?|last[- ]minute|"
        r"need an? (appointment|booking|reservation)|(appointment|booking|reservation) (needed|required|necessary))\b",
        _FLAGS,
    ),
    "cancellation": re.compile(r"\b(cancel(l?ation|l?ing|l?ed)?|reschedul\w*|refunds?|no[- ]show|late fee)\b", _FLAGS),
    "insurance": re.compile(r"\b(insurance|insured|insurer|hsa|fsa|medicare|medicaid|reimburs\w*|covered by|copay)\b", _FLAGS),
    "tipping": re.compile(
        r"\b(tipping|gratuity|gratuities|(should|do|can|must) (i|we|you) tip|how much (to|should i) tip|"
        r"tip (my|the|your|our|a) (therapist|masseuse|masseur|staff)|tips? (for|to) (the|my|your) (therapist|masseuse|masseur))\b",
        _FLAGS,
    ),
    "location": re.compile(
        r"\b(address|parking|park my car|directions|where are you|located|location|nearest|near me|bus|train station)\b",
        _FLAGS,
    ),
    "contact": re.compile(r"\b(phone number|email address|call you|contact you|whatsapp|instagram|facebook)\b", _FLAGS),
    "services": re.compile(
        r"\b(do you (offer|provide|sell|accept|take)|can i (request|choose|pick|bring)|"
        r"(fe)?male (therapist|masseuse|masseur)|couples?('s)? (massages?|rooms?|sessions?|treatments?)|hot stones?|facials?|waxing)\b",
        _FLAGS,
    ),
    "gift": re.compile(r"\b(gift ?cards?|vouchers?|gift certificates?)\b", _FLAGS),
    "weather": re.compile(r"\b(weather|forecast|raining|rain|snow(ing)?|sunny|temperature outside)\b", _FLAGS),
    "programming": re.compile(
        r"\b(python|javascript|java|typescript|c\+\+|rust|golang|sql|html|css|regex|source code|write code|"
        r"code snippet|coding|programming|compile[rd]?|algorithm|debug\w*|stack ?trace|api key|linux|docker)\b",
        _FLAGS,
    ),
}

# Conditions that always need a professional's advice, however the question is phrased.
_ALWAYS_MEDICAL = re.compile(
    r"\b(pregnan\w*|trimester|expecting a baby|postpartum|blood clots?|clotting|dvt|thrombo\w*|embolism|"
    r"blood thinners?|anticoagulants?|warfarin|aspirin|chemo\w*|radiation therapy|cancer|tumou?rs?|pacemaker|"
    r"medications?|medicines?|meds|prescri\w*|pills?|antidepressants?|painkillers?|ibuprofen|paracetamol|"
    r"acetaminophen|antibiotics?|steroids?|statins?|opioids? i take|contraindicat\w*|side effects?)\b",
    _FLAGS,
)

# Conditions that need a professional when they are the asker's own (or a relative's).
_CONDITIONS = re.compile(
    r"\b(injur(y|ies|ed)|(i|i\'ve|ive) hurt my|pulled (a|my|something)|sprain\w*|strain(ed)?|fractur\w*|broken|broke|torn|tear|whiplash|herniat\w*|"
    r"slipped disc|bulging disc|disc|sciatica|pinched nerve|nerve|numb\w*|tingl\w*|osteoporosis|scoliosis|"
    r"arthritis|osteoarthritis|fibromyalgia|lupus|multiple sclerosis|diabet\w*|insulin|heart (condition|disease|attack|problems?)|"
    r"stroke|epilep\w*|seizures?|high blood pressure|low blood pressure|hypertension|hypotension|fever|flu|covid|"
    r"infection|infected|contagious|rash|eczema|psoriasis|skin condition|wound|stitches|burns?|varicose|"
    r"surgery|operation|implants?|kidney|liver|asthma|allerg\w*|migraines?|dizz\w*|"
    r"ptsd|trauma|condition|disease|disorder|illness|sick|diagnos\w*|symptoms?)\b",
    _FLAGS,
)

_PERSONAL = re.compile(
    r"\b(i|i'm|im|i've|ive|i'd|my|me|mine|we|our|us|wife|husband|partner|mom|mum|mother|dad|father|son|"
    r"daughter|child|kid|baby|friend|grandma|grandpa)\b|"
    r"\b(is it safe|safe (to|for|if|with)|ok(ay)? (to|for|if)|alright (to|for|if)|allowed|should (i|you)|"
    r"can (i|you)|could (i|you)|while|with an? )",
    _FLAGS,
)


def studio_topic(question: str) -> str | None:
    """The studio-business topic a question is about, if any."""
    for topic, pattern in STUDIO_TOPICS.items():
        if pattern.search(question):
            return topic
    return None


def is_medical(question: str) -> bool:
    """True when the question asks about a medical condition: a risky one, or one the asker (or someone
    close) has. "I have a herniated disc" is medical; "does massage help sports injuries?" is not."""
    if _ALWAYS_MEDICAL.search(question):
        return True
    for match in _CONDITIONS.finditer(question):
        before = " ".join(question[: match.start()].split()[-6:])
        if _PERSONAL.search(f"{before} {match.group(0)}"):
            return True
    return False
