"""Every key of the main screen: one Binding each, with an id, a short footer word and a help line.

The footer shows ``description`` (grouped keys share their group's word); the help screen shows
``tooltip``, a sentence written for a learner. Both come from this one list.
"""

from __future__ import annotations

from textual.binding import Binding

_STEP = Binding.Group("step", compact=True)
_EPOCH = Binding.Group("epoch", compact=True)
_KNOB = Binding.Group("W_h", compact=True)

BINDINGS: list[Binding] = [
    Binding("left,h", "step(-1)", "back", id="step-back", group=_STEP,
            tooltip="One step back along the current pass."),
    Binding("right,l", "step(1)", "forward", id="step-forward", group=_STEP,
            tooltip="One step on along the current pass (t goes down in the backward pass)."),
    Binding("home,g", "to_start", "start", id="start", show=False,
            tooltip="Jump to the first step of the pass."),
    Binding("end,G", "to_end", "end", id="end", show=False,
            tooltip="Jump to the last step of the pass."),
    Binding("space", "play", "play", id="play",
            tooltip="Play or pause: 4 steps a second, stopping at the end."),
    Binding("b,p", "phase", "pass", id="phase",
            tooltip="Switch between the forward pass and the backward pass (BPTT)."),
    Binding("t", "train", "train", id="train",
            tooltip="Train (or continue training) in the background; press again to stop."),
    Binding("left_square_bracket", "epoch(-1)", "earlier epoch", id="epoch-back", group=_EPOCH,
            tooltip="Show the weights of the previous saved epoch."),
    Binding("right_square_bracket", "epoch(1)", "later epoch", id="epoch-forward", group=_EPOCH,
            tooltip="Show the weights of the next saved epoch."),
    Binding("left_curly_bracket", "epoch(-10)", "10 epochs back", id="epoch-back-10",
            show=False, tooltip="Show the weights 10 saved epochs earlier."),
    Binding("right_curly_bracket", "epoch(10)", "10 epochs on", id="epoch-forward-10",
            show=False, tooltip="Show the weights 10 saved epochs later."),
    Binding("less_than_sign", "epoch_end(0)", "first epoch", id="epoch-first", show=False,
            tooltip="Show the initial weights (epoch 0)."),
    Binding("greater_than_sign", "epoch_end(1)", "last epoch", id="epoch-last", show=False,
            tooltip="Show the weights of the last trained epoch."),
    Binding("r", "reset", "reset", id="reset", show=False,
            tooltip="Forget the training: back to the seeded initial weights (epoch 0). "
                    "Asks first (press r again) when there are trained epochs to lose."),
    Binding("minus", "knob(-1)", "W_h down", id="knob-down", group=_KNOB,
            tooltip="Scale W_h down (four presses halve it) and recompute everything."),
    Binding("plus,equals_sign", "knob(1)", "W_h up", id="knob-up", group=_KNOB,
            tooltip="Scale W_h up (four presses double it). With relu ('count') the "
                    "gradients explode; with tanh or sigmoid the units saturate instead: "
                    "|a| grows, the slope f'(a) = 1 - h² goes to 0 and gradients vanish."),
    Binding("0", "knob_reset", "W_h x1", id="knob-reset", show=False,
            tooltip="Put the W_h scale back to x1."),
    Binding("v", "grads", "grads", id="grads", show=False,
            tooltip="Gradients pane: switch between every loss at once (dL/dh_t and the "
                    "Jacobian from the last step) and the loss at one target step τ followed "
                    "back, with each input's influence on that prediction."),
    Binding("x", "pin_target", "pin τ", id="pin-target", show=False,
            tooltip="Pin the target step τ of the per-loss view at the cursor, so you can "
                    "step elsewhere and keep it; press again to let τ follow the cursor."),
    Binding("c", "cell", "cell", id="cell",
            tooltip="Switch the cell: vanilla RNN → LSTM → GRU → RNN, on the same data. Each "
                    "new cell trains in the background; one trained before comes back at "
                    "once."),
    Binding("A", "attention", "attention", id="attention", show=False,
            tooltip="An encoder-decoder (reverse, translate): switch its attention off (the "
                    "decoder then knows the source only through the encoder's last state, "
                    "the bottleneck) and on again. Each trains in the background once."),
    Binding("C", "compare", "compare", id="compare", show=False,
            tooltip="Compare mode: this cell and the LSTM (or the RNN and the LSTM) side by "
                    "side on the same data, moved by one cursor; on an encoder-decoder, the "
                    "model with its attention (additive when it has none) and without. Esc or C "
                    "comes back."),
    Binding("o", "open", "open", id="open",
            tooltip="Open another scenario: a built-in one or a .toml file."),
    Binding("n", "example(1)", "next sequence", id="example-next", show=False,
            tooltip="Step through the next sequence of the training set (the scenario's own "
                    "sequence comes before the first). A text file steps window by window: "
                    "the validation windows first (its own sequence is the first), then the "
                    "training ones, each starting from the state carried through the text "
                    "before it."),
    Binding("N", "example(-1)", "previous sequence", id="example-back", show=False,
            tooltip="Step through the previous sequence of the training set."),
    Binding("B", "next_batch", "next batch", id="next-batch", show=False,
            tooltip="Padded batches (pad = true under [train]): step through the next "
                    "training batch, from its longest row (the Batch pane shows the batch "
                    "that holds the sequence you step; n and N go row by row)."),
    Binding("u", "mask", "mask", id="mask", show=False,
            tooltip="Padded batches: switch the mask off or on. With it, a pad step counts "
                    "for nothing; without it, the pads go in as inputs and each answer is "
                    "read after them. Each setting trains in the background (a setting "
                    "trained before comes back at once); the Output pane's held-out "
                    "accuracy shows what the mask is worth."),
    Binding("s", "sort", "sort", id="sort", show=False,
            tooltip="Padded batches: cut the epoch into batches sorted by length (like lengths "
                    "together, few pads) or in the order of the file. The Batch pane counts "
                    "the steps an epoch runs each way; each setting trains in the background "
                    "(one trained before comes back at once)."),
    Binding("w", "generate", "write", id="generate", show=False,
            tooltip="Let the network write: sample tokens after a prime (the sequence up to "
                    "t) with a temperature (0 = always the most probable) and a seed; a "
                    "series gets a free-running forecast drawn against the truth. What it "
                    "writes becomes the sequence you step through."),
    Binding("d", "describe", "about", id="describe", show=False,
            tooltip="Show the scenario's whole description: what it teaches and what to "
                    "look for."),
    Binding("i", "type_text", "input", id="input", show=False,
            tooltip="Type your own sentence (text scenarios) and step through it."),
    Binding("e", "export", "export", id="export", show=False,
            tooltip="Save this screen as SVG and the trace as JSON in the current folder."),
    Binding("k", "legend", "legend", id="legend", show=False,
            tooltip="What the signs of the focused pane mean (its legend), for a moment."),
    Binding("m", "maximize", "max", id="maximize", show=False,
            tooltip="Maximise the focused pane (the Step pane while the one-line Sequence "
                    "pane or none is focused), or restore it (Esc also restores)."),
    Binding("f", "follow", "follow", id="follow", show=False,
            tooltip="Classroom: follow the presenter again, jumping to where the presenter "
                    "is (a navigation key stops following; in a presented lesson your own "
                    "keys keep you with the class, and only L or o leave it)."),
    Binding("j", "join", "join string", id="join", show=False,
            tooltip="Classroom: show the join string students type to follow you (rnntui "
                    "follow HOST:PORT/TOKEN.CHECK), whole on one line."),
    Binding("a", "poll", "show answers", id="poll", show=False,
            tooltip="Classroom, presenting a lesson: show this step's answers (how many did "
                    "the task, how many picked each choice; never who) on the class's "
                    "screens, or hide them again. Your strip shows them all along."),
    Binding("L", "lessons", "lessons", id="lessons", show=False,
            tooltip="Lessons: list the guided tours (progress marked), or leave the one open "
                    "(it waits where it was: pick it again to resume)."),
    Binding("full_stop", "lesson_step(1)", "next step", id="lesson-next", show=False,
            tooltip="Lesson: the next step (after the last one, the lesson is finished)."),
    Binding("comma", "lesson_step(-1)", "previous step", id="lesson-back", show=False,
            tooltip="Lesson: the previous step."),
    Binding("1", "lesson_answer(1)", "answer 1", id="lesson-answer-1", show=False,
            tooltip="Lesson: pick answer 1 of the step's question; the reveal follows."),
    Binding("2", "lesson_answer(2)", "answer 2", id="lesson-answer-2", show=False,
            tooltip="Lesson: pick answer 2 of the step's question; the reveal follows."),
    Binding("3", "lesson_answer(3)", "answer 3", id="lesson-answer-3", show=False,
            tooltip="Lesson: pick answer 3 of the step's question; the reveal follows."),
    Binding("4", "lesson_answer(4)", "answer 4", id="lesson-answer-4", show=False,
            tooltip="Lesson: pick answer 4 of the step's question; the reveal follows."),
    Binding("M", "marker", "marker", id="marker", show=False,
            tooltip="Recording (--record): drop a marker here, which a replay jumps to."),
    Binding("right_parenthesis", "replay('step', 1)", "next event", id="replay-next", show=False,
            tooltip="Replay: the next recorded event (space pauses and plays on)."),
    Binding("left_parenthesis", "replay('step', -1)", "previous event", id="replay-back", show=False,
            tooltip="Replay: the previous recorded event."),
    Binding("K", "replay('mark', 1)", "next marker", id="replay-next-mark", show=False,
            tooltip="Replay: the next marker or lesson step."),
    Binding("J", "replay('mark', -1)", "previous marker", id="replay-back-mark", show=False,
            tooltip="Replay: the previous marker or lesson step."),
    Binding("asterisk", "replay('speed', 2)", "faster", id="replay-faster", show=False,
            tooltip="Replay: play twice as fast."),
    Binding("slash", "replay('speed', -2)", "slower", id="replay-slower", show=False,
            tooltip="Replay: play half as fast."),
    Binding("question_mark", "help", "help", id="help",
            tooltip="Show every key and what each pane means."),
    Binding("q", "quit", "quit", id="quit",
            tooltip="Quit at any moment (training or not)."),
]


def known_keys() -> set[str]:
    """Textual's names (longer than one character) for the keys the app binds and dialogs use:
    what a lesson's task or ``--press`` may name besides single characters."""
    names = {"enter", "escape", "tab", "backspace", "delete", "space", "up", "down", "left",
             "right", "home", "end", "pageup", "pagedown", "shift+tab"}
    for binding in BINDINGS:
        names.update(k.strip() for k in str(binding.key).split(",") if k.strip())
    return {n for n in names if len(n) > 1}
