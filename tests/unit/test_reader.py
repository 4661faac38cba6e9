"""Reader mode (rnntui/reader.py): a transcript a screen reader or a speech synthesiser reads.

Each scripted session is checked as a listener would hear it: no escape, control, box-drawing,
block or braille character and none of the symbols a synthesiser mangles; and every pane's key
numbers are there, computed here from the trace's arrays and formatted by the panes' own
functions (widgets/_draw.py), then said the way the expected sentence says them (written out
below, not by the reader's code). No Textual App is started.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest

from _spoken import check_plain, spoken
from engine import load, trace_for
from rnntui.lessons import find_lesson
from rnntui.lessons.progress import Progress
from rnntui.reader import MAX_LINE, Reader, run_reader, say
from rnntui.widgets._draw import fmt, fmt_abs, fmt_pow10
from rnntui.widgets.gradients import verdict_word


def session(commands, scenario="king", *, lesson=None, tmp_path=None, train=True):
    lines: list[str] = []
    sc = load(scenario)
    progress = Progress(tmp_path / "progress.json") if tmp_path is not None else None
    reader = Reader(sc, out=lines.append, lesson=lesson, progress=progress, train=train)
    reader.start()
    for c in commands:
        if not reader.handle(c):
            break
    return reader, lines


def test_say_writes_symbols_as_words():
    assert say("‖dL/dh_4‖ = 0.0011") == "the size of dL by dh 4 = 0.0011"
    assert say("('on' → 'throne')") == "('on' to 'throne')"
    assert say("Press → twice, then → again") == \
        "Press the right arrow key twice, then the right arrow key again"
    assert say("3.2e-07 and -0.53 and h_t-1 and τ") == \
        "3.2 times ten to the minus 7 and minus 0.53 and h t minus 1 and tau"
    assert say("‖W_h‖₂ × 2") == "the size of W h times 2"
    # at the end of a sentence too (a lesson's "only 5.415e-5." was read "e 5")
    assert say("only 5.415e-5.") == "only 5.415 times ten to the minus 5."
    assert say("predicts '␣'") == "predicts 'space'"
    assert say("‖∂ℓ_3/∂h_0‖ and the tanh slopes, 1/2") == \
        "the size of d l 3 by d h 0 and the tan h slopes, 1/2"


def test_king_transcript_is_plain_and_carries_every_pane(tmp_path):
    reader, lines = session(["next", "next", "describe", "pass", "next", "back", "why",
                             "wh +4", "wh 0", "epoch 50", "quit"], tmp_path=tmp_path)
    check_plain(lines)
    text = "\n".join(lines)
    sc = load("king")
    history = reader.view.history
    E = history.trained_epochs
    assert E == sc.train.epochs
    tr = trace_for(sc, history.params_at(E))  # the trace at the last epoch, knob 0
    t = 2  # "describe" at step 2, forward pass
    # the sequence pane: the input and the target at t
    assert f"Step 2 reads '{sc.sequence.labels[2]}'; the target is " \
           f"'{sc.sequence.target_labels[2]}'." in text
    # the output pane: the prediction, its probability, the target's probability, the loss
    k = int(np.argmax(tr.targets[t]))
    best = int(np.argmax(tr.out[t]))
    assert f"predicts '{sc.vocab[best]}' with probability {spoken(fmt_abs(tr.out[t][best]))}" \
        in text
    assert f"gets probability {spoken(fmt_abs(tr.out[t][k]))}" in text
    assert f"a loss of {spoken(fmt_abs(-math.log(tr.out[t][k])))} at this step" in text
    # the hidden pane: the size of h_t and its largest unit
    h = tr.h[t]
    u = int(np.argmax(np.abs(h)))
    assert f"has {len(h)} units and size {spoken(fmt_abs(np.linalg.norm(h)))}" in text
    assert f"the largest now: unit {u} at {spoken(fmt(h[u]))}" in text
    # the gradients pane: the gradient reaching t, the Jacobian from the last step, the verdict
    assert f"reaching step {t} has size {spoken(fmt_pow10(math.log10(tr.grad_h[t])))}" in text
    j0 = float(tr.jacobian_log10[0])
    word = verdict_word(j0)[0]
    assert word in ("vanishing", "fading", "steady", "growing", "exploding")
    assert f"{spoken(fmt_pow10(j0))} of its size: {word}." in text or \
        f"at most {spoken(fmt_pow10(j0))}: {word}." in text or \
        f"can grow {spoken(fmt_pow10(j0))} times: {word}." in text
    # retention: the last cosine
    assert f"the cosine with the first state is {spoken(fmt(tr.retention[-1]))}" in text
    # the loss pane: the epoch and the training loss there, and this sequence's loss
    assert f"Epoch {E} of {E}: the training loss is {spoken(fmt_abs(history.losses[E]))}" in text
    assert f"On this sequence the loss is {spoken(fmt_abs(tr.loss))}" in text
    # the backward pass at t = 1 says the gradient reaching it
    assert f"reaching step 1 has size {spoken(fmt_pow10(math.log10(tr.grad_h[1])))}" in text
    # why: W_h's largest singular value and spectral radius, as the Gradients pane's header
    assert f"The largest singular value of W h is {spoken(fmt_abs(tr.spectral_norm))}" in text
    assert f"is {spoken(fmt_abs(tr.spectral_radius))}; W h is not scaled" in text
    # wh +4 doubles W_h: the verdict recomputed with the scaled weights
    tr2 = trace_for(sc, history.params_at(E).with_wh_scale(2.0))
    assert "W h is scaled by 2 (4 clicks)." in text
    assert spoken(fmt_pow10(float(tr2.jacobian_log10[0]))) in text
    # epoch 50: the weights of epoch 50 and the training loss there
    assert f"Epoch 50 of {E}: the training loss is {spoken(fmt_abs(history.losses[50]))}" in text
    assert reader.view.epoch == 50


def test_lesson_4_reads_its_narration_tasks_and_question(tmp_path):
    lesson = find_lesson("4")
    assert lesson.title == "Backpropagation through time"
    commands = ["pass", "next step", "next", "next step", "answer 2", "next step", "grads",
                "next step", "pin", "next", "next", "next", "next step", "next step"]
    reader, lines = session(commands, lesson=lesson, tmp_path=tmp_path)
    check_plain(lines)
    text = "\n".join(lines)
    sc = load("king")
    tr = trace_for(sc, reader.view.history.params_at(reader.view.trained_epochs))
    # the after-texts read as the lesson wrote them, its shares in the pane's own digits
    # (step 2's after-text, said as reader mode says it: no placeholders in it)
    assert say(" ".join(lesson.steps[1].task.then.split())) in text
    pane = re.findall(r"followed back to step 0, keeps a factor ([0-9.e-]+) of its size", text)
    assert pane, text
    assert f"alone; a factor {pane[0]} of its gradient reaches h 0" in text
    assert f"At t=0 it is at most a factor {fmt_pow10(float(tr.jacobian_log10[0]))}" in text
    assert "Task: Press b to switch to the backward pass. In reader mode, type: pass." in text
    assert "In reader mode, type: pin, next, next, next." in text
    assert text.count("Task done.") == 4
    assert "Question: Which state gets a gradient from every loss of the sentence?" in text
    assert "2: h 0, the first." in text
    assert "Right." in text and "h 0 feeds every later state" in text
    assert "Lesson finished: Backpropagation through time." in text
    assert reader.lesson is None
    entry = Progress(tmp_path / "progress.json").entry(lesson.name)
    assert entry["finished"] and entry["done"] == [0, 1, 2, 3, 4]


def test_hostile_commands_get_one_sentence_each(tmp_path):
    reader, lines = session([], train=False, tmp_path=tmp_path)
    trained = reader.view.trained_epochs
    cases = {
        "frobnicate": "Unknown command 'frobnicate'",
        "\x1b[2J\x1b]0;owned\x07": "Unknown command '␛[2J␛]0;owned\\x07'",
        "epoch 99999999999": "past the limit of",
        "epoch -3": "Epochs count from 0.",
        "epoch 1e9": "epoch takes an epoch number",
        "train to 99999999999": "past the limit of",
        "train 0": "train N trains N more epochs",
        "wh 41": "The W h knob goes from minus 40 to 40 clicks",
        "wh +-1": "wh takes a whole number of clicks",
        "step 99": "is not a step of the sequence: 0 to 4",
        "cell hopfield": "Unknown cell 'hopfield'; choose one of",
        "answer 1": "No lesson is open",
        "next step": "No lesson is open",
        "next now": "next takes nothing after it.",
        "type": "type takes the text",
    }
    for command, said in cases.items():
        before = len(lines)
        assert reader.handle(command) is True
        new = lines[before:]
        assert len(new) == 1 and said in new[0], (command, new)
    check_plain(lines)
    assert reader.view.trained_epochs == trained  # nothing was trained
    assert reader.handle("quit") is False


def test_run_reader_reads_a_stream_to_its_end(tmp_path):
    """A pipe or a file: a line far too long is refused without being held or echoed, bad
    bytes are replaced, and a last line cut off mid-command is still answered; exit 0."""
    long = b"next " * (MAX_LINE * 20)
    stream = io.BytesIO(b"next\n" + long + b"\n\xff\xfe\x00\x1b[31m\nwh +1\nne")
    lines: list[str] = []
    code = run_reader(load("king"), stdin=stream, out=lines.append,
                      progress=Progress(tmp_path / "p.json"), train=False)
    assert code == 0
    check_plain(lines)
    text = "\n".join(lines)
    assert f"That line is longer than {MAX_LINE} characters: not a command." in text
    assert "Unknown command '\ufffd\ufffd\\0␛[31m'" in text
    assert "W h is scaled by 1.19 (1 click)." in text
    assert lines[-1] == "Unknown command 'ne'; type help for the commands."
    assert max(len(line) for line in lines) < 600
    assert text.count("Step 1, forward.") == 1


def test_quit_ends_before_the_rest(tmp_path):
    lines: list[str] = []
    code = run_reader(load("king"), stdin=io.BytesIO(b"quit\nnext\n"), out=lines.append,
                      train=False)
    assert code == 0
    assert lines[-1] == "Bye." and "Step 1, forward." not in lines


def test_cli_refuses_a_position_past_the_limit(capsys):
    from rnntui.cli import main
    assert main(["king", "--reader", "--at", "epoch=999999999"]) == 2
    err = capsys.readouterr().err
    assert "--at: epoch=999999999: past the limit" in err and "Traceback" not in err
    assert main(["king", "--reader", "--at", "epoch=0,text=\"the \x1b[2Jqueen\""]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnntui: --at: text=: unknown word") and "\x1b" not in err


def test_learn_reader_from_the_command_line(monkeypatch, tmp_path, capsys):
    """rnntui learn 4 --reader: the lesson read from standard input (here a pipe), exit 0."""
    import types

    from rnntui.cli import main
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    stdin = types.SimpleNamespace(buffer=io.BytesIO(b"pass\nquit\n"), isatty=lambda: False)
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["learn", "4", "--reader"]) == 0
    out = capsys.readouterr().out
    check_plain(out.splitlines())
    assert out.startswith("Training king for 200 epochs") or out.startswith("Lesson 4: ")
    assert "Lesson 4: Backpropagation through time. 6 steps." in out
    assert "Task done." in out and out.rstrip().endswith("Bye.")
    assert Progress(tmp_path / "rnntui" / "progress.json").entry("bptt")["done"] == [0]


def test_tasks_say_the_reader_commands_that_do_them(tmp_path):
    """Each built-in task's reader commands, typed, do the task (lessons 2, 5 and 6: typing a
    text, the knob up, the knob down), or the task says it needs the screen (compare mode)."""
    from rnntui.reader import _reader_keys
    assert _reader_keys(["C", "escape"]).startswith(" This task needs the app's screen")
    lesson = find_lesson("6")
    step = next(s for s in lesson.steps if s.task is not None and "minus" in s.task.keys)
    said = _reader_keys(step.task.keys)
    assert said == " In reader mode, type: wh down, wh down, wh down, wh down."
    reader, lines = session([], train=False, tmp_path=tmp_path)
    for command in said.split(": ", 1)[1].rstrip(".").split(", "):
        reader.handle(command)
    assert reader.view.knob == -4 and "W h is scaled by 0.5 (minus 4 clicks)." in lines
    typed = _reader_keys(["i", "t", "h", "e", "space", "k", "i", "n", "g", "enter"])
    assert typed == " In reader mode, type: type the king."
    reader.handle("type the king")
    assert reader.view.typed == "the king" and reader.view.T == 2


def test_a_lesson_of_ones_own_with_one_step_is_introduced_in_plain_english(tmp_path):
    from rnntui.lessons import loads_lesson
    lesson = loads_lesson('[lesson]\ntitle = "Mine"\nsummary = "s"\nminutes = 1\n'
                          'scenario = "king"\n[[step]]\ntitle = "one"\nnarration = "hi"\n',
                          str(tmp_path / "mine.toml"))
    _, lines = session([], lesson=lesson, tmp_path=tmp_path, train=False)
    assert lines[0] == "Lesson: Mine. 1 step. Type help for the commands."


def test_a_step_on_the_lab_screen_is_refused_in_one_line(tmp_path):
    lesson = find_lesson("10")
    assert lesson.steps[0].lab == "memory"
    reader, lines = session(["lesson", "answer 2", "next step"], lesson=lesson,
                            tmp_path=tmp_path, train=False)
    check_plain(lines)
    refusal = ("Lesson step 1 of 5 is on the lab screen, which reader mode does not draw: "
               "rnntui lab memory --table prints its numbers. Type next step to go on.")
    assert lines.count(refusal) == 3  # at the start, for 'lesson', and for 'answer 2'
    assert not any(line.startswith("Question") for line in lines)
    assert reader.index == 1 and "Lesson step 2 of 5 is on the lab screen" in lines[-1]


@pytest.mark.warm_cache
@pytest.mark.parametrize("name", [lesson.name for lesson in __import__(
    "rnntui.lessons", fromlist=["builtin_lessons"]).builtin_lessons()])
def test_every_built_in_lesson_reads_to_its_end_or_is_refused_in_one_line(tmp_path,
                                                                         monkeypatch, name):
    """learn NAME --reader, each step read and its pane said: lessons 11 (the Batch pane) and
    13 (an encoder-decoder) ended in a traceback. An encoder-decoder is refused in one line."""
    from engine.kinds import is_seq2seq
    from rnntui.lessons.loader import _scenario
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    lesson = find_lesson(name)
    lines, failed = [], []
    script = b"lesson\n" + b"describe\nnext step\n" * len(lesson) + b"quit\n"
    code = run_reader(None, lesson=lesson, stdin=io.BytesIO(script), out=lines.append,
                      fail=lambda message: failed.append(message) or 2)
    first = lesson.steps[0]
    if is_seq2seq(_scenario(first.scenario, first.cell)):
        assert code == 2 and not lines and failed == [
            f"lesson {name}: {first.scenario} is an encoder-decoder, which reader mode does not "
            f"read yet: its source, decoder and attention are drawn only on the screen. rnntui "
            f"learn {name} opens the lesson on the screen; rnntui trace {first.scenario} prints "
            f"its numbers."]
        return
    assert code == 0 and not failed
    check_plain(lines)
    assert any(line.startswith(f"Lesson finished: {lesson.title}") for line in lines), lines[-5:]
    for i, step in enumerate(lesson.steps):
        if step.point and step.lab is None:
            said = lines.index(f"The {step.point} pane says:")
            assert not lines[said + 1].startswith("(the "), lines[said + 1]  # (read, not refused)


def test_the_batch_pane_is_read_with_its_numbers(tmp_path):
    """batch: the padded batch the sequence is in, its cost, its mask, the rows ended at the
    cursor, and the epoch's steps, each computed here from the sequences' lengths."""
    sc = load("pads")
    B = sc.train.batch_size
    lengths = [len(s) for s in sc.train_sequences[:B]]  # (the stepped sequence is the first)
    T = max(lengths)
    epoch = sum(max(len(s) for s in sc.train_sequences[i:i + B]) * len(sc.train_sequences[i:i + B])
                for i in range(0, len(sc.train_sequences), B))
    real = sum(len(s) for s in sc.train_sequences)
    n = -(-len(sc.train_sequences) // B)
    reader, lines = session(["last", "batch"], "pads", train=False, tmp_path=tmp_path)
    said = lines[lines.index(f"Batch 1 of {n}: {B} sequences of lengths "
                             f"{', '.join(map(str, lengths))}, padded to {T} steps: {T * B} "
                             f"steps for {sum(lengths)} real."):]
    assert said[1] == (f"Mask on: a pad step counts for nothing, and each row's answer is read "
                       f"at its last real step, t = {', '.join(str(n - 1) for n in lengths)}.")
    ended = [str(b + 1) for b, n in enumerate(lengths) if T - 1 >= n]
    assert said[2] == f"At step {T - 1}, rows {', '.join(ended)} have ended."
    assert said[3] == f"An epoch runs {epoch} steps for {real} real, its batches in file order."
    check_plain(lines)


def test_mask_and_sort_do_what_u_and_s_do(tmp_path):
    from rnntui.reader import _reader_keys
    assert _reader_keys(["u"]) == " In reader mode, type: mask."
    reader, lines = session(["step 3", "mask"], "pads", train=False, tmp_path=tmp_path)
    assert "Mask off." in lines and not reader.view.scenario.train.mask
    assert reader.view.t == 3 and "mask=off" in str(reader.view.position)
    reader.handle("sort")
    assert "Batches sorted by length." in lines and reader.view.scenario.train.sort
    reader.handle("mask")
    assert str(reader.view.position).startswith("scenario=pads,sort=on,")
    _, lines = session(["mask"], "king", train=False, tmp_path=tmp_path)
    assert lines[-1] == ("This scenario trains one length per batch: mask and sort switch "
                         "padded batches (try the built-in pads).")


def test_an_encoder_decoder_is_refused_in_one_line():
    failed = []
    code = run_reader(load("reverse"), stdin=io.BytesIO(b"describe\nquit\n"), out=print,
                      fail=lambda message: failed.append(message) or 2)
    assert code == 2 and failed == [
        "reverse is an encoder-decoder, which reader mode does not read yet: its source, "
        "decoder and attention are drawn only on the screen. rnntui trace reverse prints its "
        "numbers."]


def test_a_lesson_step_on_an_encoder_decoder_is_refused_like_a_lab_step(tmp_path):
    """A teacher's lesson that goes from king to reverse: that step is one line, again for
    lesson and answer, and the lesson goes on after it."""
    from rnntui.lessons import loads_lesson
    lesson = loads_lesson(
        '[lesson]\ntitle = "Mixed"\nsummary = "s"\nminutes = 1\nscenario = "king"\n'
        '[[step]]\ntitle = "one"\nnarration = "king first"\n'
        '[[step]]\ntitle = "two"\nscenario = "reverse"\nnarration = "the bottleneck"\n'
        '[step.question]\nprompt = "Which?"\nchoices = ["a", "b"]\nanswer = 1\nwhy = "w"\n'
        '[[step]]\ntitle = "three"\nscenario = "king"\nnarration = "king again"\n',
        str(tmp_path / "mixed.toml"))
    reader, lines = session(["next step", "lesson", "answer 1", "next step"], lesson=lesson,
                            tmp_path=tmp_path, train=False)
    refusal = ("Lesson step 2 of 3 opens reverse, an encoder-decoder, which reader mode does "
               "not read yet: its source, decoder and attention are drawn only on the screen. "
               "rnntui trace reverse prints its numbers. Type next step to go on.")
    assert lines.count(refusal) == 3, lines
    assert not any("the bottleneck" in line or line.startswith("Question") for line in lines)
    assert "king again" in lines and reader.view.scenario.name == "king"
    check_plain(lines)


@pytest.mark.parametrize("at", ['scenario=king,epoch=0,gen=4,temp=0,prime="the king"',
                                "scenario=rhymes,epoch=0,window=train:2,t=3"])
def test_a_position_with_a_generated_sequence_or_a_window_is_read_as_the_app_opens_it(
        at, tmp_path):
    """They were refused ("not yet: the scenario's own sequence is read instead"): now the
    reader is where the app is at the same position (rnntui.view.at_position)."""
    from rnntui.position import Position
    from rnntui.view import View, at_position
    pos = Position.parse(at)
    lines: list[str] = []
    reader = Reader(load(pos.scenario), out=lines.append, progress=Progress(tmp_path / "p.json"),
                    train=False)
    first = reader.view
    reader.go_to(pos)
    assert not any("not yet" in line for line in lines), lines
    want = at_position(View.open(first.scenario, first.history).with_history(first.history), pos)
    assert reader.view.position == want.position and reader.view.T == want.T
    assert reader.view.sequence is not first.sequence and reader.view.trace is not None
    if pos.window is not None:  # training window 2 is the second training sequence
        assert np.array_equal(reader.view.sequence.inputs,
                              first.scenario.train_sequences[1].inputs)
    else:  # the prime, then the four tokens written after it
        assert reader.view.typed.startswith("the king ") and reader.view.T == 2 + 4
    check_plain(lines)
