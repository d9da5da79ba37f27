"""Every fact of the programme's FAQ is on the site, in Dutch and in English, in our own
words: no sentence of the FAQ is copied."""

import re
from pathlib import Path

import pytest

from portal.content.render import fold

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seeds" / "000_53fd5960bab2fff6.txt"

# (fact, Dutch wording that must appear, English wording that must appear)
FACTS = [
    ("VOG", "verklaring omtrent gedrag", "certificate of conduct"),
    ("one day a week", "een dag per week", "one day a week"),
    ("6-8 hours", "zes tot acht uur", "six to eight hours"),
    ("whole or half school year", "een heel of een half schooljaar", "a whole or half school year"),
    ("release by employer", "vrijstellen", "release you from your normal duties"),
    ("motivation letter", "motivatiebrief", "motivation letter"),
    ("CV at intake", "intake", "intake"),
    ("scheduled on the school day", "op de dag dat je toch", "on the day you are at"),
    ("prepare the next day", "volgende lesdag voor te bereiden", "prepare the next teaching day"),
    ("lesson series with the ic", "lessenserie", "lesson series"),
    ("ic one day a week", "interne coordinator", "internal coordinator"),
    ("core objectives", "kerndoelen", "core objectives"),
    ("project team", "projectteam", "project team"),
    ("research team", "onderzoeksteam", "research team"),
    ("three lessons", "drie lessen", "three lessons"),
    ("several year groups", "leerjaren", "year groups"),
    ("fitting out the school", "inrichting van de school", "furnish and arrange the school"),
    ("working groups", "werkgroep", "working group"),
    ("school times", "schooltijden", "school hours"),
    ("website", "website", "website"),
    ("social media", "sociale media", "social media"),
    ("College van Bestuur", "college van bestuur", "college van bestuur"),
    ("capable of guiding groups", "groepen", "guiding groups"),
    ("teacher's supervision", "toezicht van de leerkracht", "supervision of the teacher"),
    ("playground duty", "pleinwacht", "playground duty"),
    ("induction until autumn holiday", "herfstvakantie", "autumn holiday"),
    ("observe and feedback", "feedback", "feedback"),
    ("five Thursdays", "vijf donderdagen", "five thursdays"),
    ("12:00-15:00", "12.00 tot 15.00", "12:00 to 15:00"),
    ("peaceful school", "vreedzame school", "vreedzame school"),
    ("kanjertraining", "kanjertraining", "kanjertraining"),
    ("classroom management", "klassenmanagement", "classroom management"),
    ("lesson structure", "opbouw van een les", "structure a lesson"),
    ("behaviour", "gedrag", "behaviour"),
    ("intervision three times a year", "drie keer per jaar", "three times a year"),
    ("professional intervision", "intervisiebegeleiders", "intervision facilitators"),
    ("not a teacher in training", "onderwijsassistent", "teaching assistant"),
    ("lower workload", "werkdruk", "workload"),
    ("problems to project leader or ic", "meld het bij de projectleider", "tell the project leader"),
    ("vision and mission", "visie en missie", "vision and mission"),
    ("annual and school plan", "jaarplan", "annual plan"),
    ("team support", "draagvlak", "support within the team"),
    ("September", "september", "september"),
    ("February", "februari", "february"),
    ("0.2 fte", "0,2 fte", "0.2 fte"),
    ("matches: groups, interns, starters", "stagiaires", "student teachers"),
    ("newly qualified teachers", "startende leerkrachten", "newly qualified teachers"),
    ("voluntary for teachers", "vrijwillig", "voluntary"),
    ("schoolopleiders", "schoolopleiders", "schoolopleiders"),
    ("size of the school", "grootte van de school", "size of the school"),
    ("organise it yourself", "organiseert de school dat zelf", "organises those itself"),
    ("lasting connection", "duurzame verbinding", "lasting connection"),
    ("sponsored", "betaalt de uren door", "keep paying"),
    ("professional development", "professionele ontwikkeling", "professional development"),
    ("career orientation", "loopbaanorientatie", "career orientation"),
    ("salary unaffected", "salaris", "salary"),
    ("EUR 160 a month", "160 per maand", "160 a month"),
    ("mixed", "mengvorm", "mixed"),
    ("Onderwijsimpuls", "onderwijsimpuls", "onderwijsimpuls"),
    ("2021-2022", "2021-2022", "2021-2022"),
    ("materials", "materialen", "materials"),
    ("money with the project leader", "meintje spijker", "meintje spijker"),
    ("career prospects", "loopbaanperspectief", "career prospects"),
    ("cross-pollination", "kruisbestuiving", "cross-pollination"),
    ("investment in the future", "investering in de toekomst", "investment in the future"),
    ("vital employees", "vitale medewerkers", "energised employees"),
    ("MVO", "maatschappelijk verantwoord ondernemen", "corporate social responsibility"),
    ("SROI", "sroi", "sroi"),
    ("internal investment", "interne investering", "internal investment"),
    ("career path", "loopbaantraject", "career path"),
    ("future government subsidy", "overheidssubsidie", "government subsidy"),
]


@pytest.fixture(scope="module")
def site_text():
    texts = {}
    for lang in ("nl", "en"):
        texts[lang] = fold(" ".join(p.read_text(encoding="utf-8") for p in (ROOT / "content" / lang).glob("*.md")))
        texts[lang] = re.sub(r"\s+", " ", texts[lang])
    return texts


@pytest.mark.parametrize(("fact", "dutch", "english"), FACTS, ids=[f[0] for f in FACTS])
def test_fact_is_on_the_site_in_both_languages(site_text, fact, dutch, english):
    assert fold(dutch) in site_text["nl"], f"Dutch pages miss: {fact}"
    assert fold(english) in site_text["en"], f"English pages miss: {fact}"


@pytest.mark.skipif(not SEED.exists(), reason="the programme's FAQ (shared/seeds) is not beside the repository")
def test_no_sentence_of_the_faq_is_copied(site_text):
    source = SEED.read_text(encoding="utf-8")
    sentences = [s.strip() for s in re.split(r"(?<=[.!?:])\s+|\n", source)]
    long_ones = [fold(re.sub(r"\s+", " ", s)) for s in sentences if len(s.split()) >= 7]
    assert len(long_ones) > 40
    copied = [s for s in long_ones if s in site_text["nl"]]
    assert copied == []
    # and no run of ten words in a row either
    words = re.findall(r"\w+", fold(source))
    site_words = " ".join(re.findall(r"\w+", site_text["nl"]))
    runs = {" ".join(words[i:i + 10]) for i in range(len(words) - 9)}
    assert [r for r in runs if r in site_words] == []
