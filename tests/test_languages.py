"""One process serves several languages: a person is spoken to in the language of the
number they first reached (RELAIS_NUMBER_LANGUAGES), and keeps it; the others get the
first language. The second language here is the Korean test content: content only."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from dialogues.engine import Ask, Engine, Say, Text
from dialogues.loader import load_content

from .conftest import Running, make_content

KOREAN = Path(__file__).resolve().parent / "data" / "ko"
KOREAN_NUMBER = "+33900000001"  # the service's Korean line
KOREAN_VOICE = "Google.ko-KR-Standard-A"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
MOBILE, OTHER = "+33612345678", "+33698765432"


def _relais(tmp_path: Path) -> Running:
    root = tmp_path / "content"
    make_content(root)  # root/fr: the French test content
    shutil.copytree(KOREAN, root / "ko")
    # A voice no code knows: the language's voice is its content's (language.yaml).
    words = root / "ko" / "language.yaml"
    words.write_text(words.read_text().replace("Polly.Seoyeon-Neural", KOREAN_VOICE))
    return Running(
        tmp_path / "data",
        RELAIS_CONTENT_DIR=str(root),
        RELAIS_LANGUAGES="fr,ko",
        RELAIS_NUMBER_LANGUAGES=f"{KOREAN_NUMBER}=ko",
    )


def _voice(relais: Running, caller: str, sid: str, to: str) -> str:
    sim = relais.sim
    return sim.post(sim.public_url + "/voice", {"CallSid": sid, "From": caller, "To": to}).text


def test_each_person_is_answered_in_the_language_of_the_number_they_reached(
    tmp_path: Path,
) -> None:
    relais = _relais(tmp_path)
    try:
        # Texting the Korean line: the Korean dialogue's first choice (병원) and its link.
        (understood,) = relais.sim.sms(MOBILE, "1", to=KOREAN_NUMBER)
        assert understood.startswith("알겠습니다: 병원.")  # "Understood: hospital."
        sent = relais.sim.sms(MOBILE, "1", to=KOREAN_NUMBER)  # can open a link alone
        link = next(body for body in sent if "https://www.example.org/hospital" in body)
        assert HANGUL.search(link) and all(HANGUL.search(body) for body in sent)
        # Another person on the main number: French.
        french = " ".join(relais.sim.sms(OTHER, "bonjour", to="+33900000000"))
        assert french and not HANGUL.search(french)
        # The Korean texter calls the main number later: still spoken to in Korean.
        twiml = _voice(relais, MOBILE, "CA" + "1" * 32, "+33900000000")
        assert 'language="ko-KR"' in twiml and "무엇을 도와드릴까요?" in twiml
        assert f'voice="{KOREAN_VOICE}"' in twiml
        # A new caller on the Korean line: Korean; on the main number: French.
        assert 'language="ko-KR"' in _voice(relais, "+33611111111", "CA" + "2" * 32, KOREAN_NUMBER)
        twiml = _voice(relais, "+33622222222", "CA" + "3" * 32, "+33900000000")
        assert 'language="fr-FR"' in twiml and not HANGUL.search(twiml)
        languages = dict(relais.rows("SELECT phone, language FROM people"))
        assert languages[MOBILE] == "ko" and languages[OTHER] == "fr"
    finally:
        relais.close()


def test_a_second_language_reads_its_words_by_its_own_rules() -> None:
    """Words are read by the language's `reading` rules (content), not French ones: a
    Korean text with a particle glued to its word ("병원에", to the hospital) reaches that
    place; French sound rules would leave it unknown."""
    engine = Engine(load_content(KOREAN))
    state, _ = engine.start("sms")
    state, actions = engine.step(
        state, Text("저는 병원에 가고 싶어요")
    )  # "I want to go to hospital"
    assert state.node == "hospital"
    assert " ".join(a.text for a in actions if isinstance(a, Say | Ask)).startswith(
        "알겠습니다: 병원."
    )
    french = Engine(load_content(make_content(Path(tempfile.mkdtemp()))))
    assert french.content.reading.normalise("병원에") == ("병원에",)  # no French rule applies
