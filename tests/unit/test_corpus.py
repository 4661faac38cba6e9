"""engine/corpus.py: tokens, the capped vocabulary with its unknown token, the split, windows."""

from __future__ import annotations

import numpy as np
import pytest

from engine.corpus import corpus_of, make_corpus, unigram_loss
from engine.scenario import encode_text, load
from engine.types import ScenarioError

TOML = """
[scenario]
name = "mine"
kind = "text"
[train]
batch_size = {batch}
[data]
file = "{name}"
{extra}
"""


def scenario_in(tmp_path, text, extra="window = 4", batch=2, name="c.txt"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    toml = tmp_path / "s.toml"
    toml.write_text(TOML.format(name=name, extra=extra, batch=batch), encoding="utf-8")
    return toml


def test_split_and_streams_by_hand():
    c = make_corpus("abcdefghijklmnopqrst", "char", validation=0.25, window=3)
    assert c.vocab == list("abcdefghijklmnopqrst")
    assert c.split == 15 and len(c.val_ids) == 5
    x, y = c.streams("train", 2)  # 14 inputs -> 2 streams of 7
    assert x.shape == (7, 2)
    assert "".join(c.vocab[i] for i in x[:, 0]) == "abcdefg"
    assert "".join(c.vocab[i] for i in y[:, 0]) == "bcdefgh"
    assert "".join(c.vocab[i] for i in x[:, 1]) == "hijklmn"
    assert "".join(c.vocab[i] for i in y[:, 1]) == "ijklmno"
    w = c.windows("train", 2)
    assert [len(a) for a, _ in w] == [3, 3, 1]  # the last window is shorter, none dropped
    assert np.array_equal(np.concatenate([a for a, _ in w]), x)


def test_vocab_cap_keeps_the_most_frequent_and_an_unknown_token():
    c = make_corpus("aaaa bbb cc d e", "char", vocab_size=4, validation=0.2, window=2)
    # kept: 'a' (4), ' ' (4), 'b' (3), then the unknown; c, d and e read as it
    assert set(c.vocab[:-1]) == {"a", " ", "b"} and c.unknown == c.vocab[-1] == "\ufffd"
    assert c.dropped == 3 and c.unknown_count == 4
    assert [c.vocab[i] for i in c.ids].count("\ufffd") == 4
    w = make_corpus("the cat the dog a cat the end of it all", "word", vocab_size=3,
                    validation=0.3, window=2)
    assert w.vocab == ["the", "cat", "<unk>"]


def test_unigram_loss_by_hand():
    c = make_corpus("aabab" + "ab", "char", validation=2 / 7, window=1)
    # train "aabab": targets a,b,a,b -> counts a 2, b 2 (+1 each); validation targets: b
    assert c.split == 5
    assert unigram_loss(c) == pytest.approx(-np.log(3 / 6))


def test_scenario_from_a_file(tmp_path):
    sc = load(scenario_in(tmp_path, "hello world, hello there. " * 4))
    c = corpus_of(sc)
    assert sc.kind == "text" and sc.unit == "char" and sc.vocab == c.vocab
    assert sc.input_size == sc.output_size == len(c.vocab)
    # the scenario's own sequence is the first validation window
    first = sc.sequence
    assert first.tokens == [c.vocab[i] for i in c.val_ids[:4]]
    assert bool(first.mask.all())  # every step has a target: the token after it
    assert [c.vocab[int(np.argmax(r))] for r in first.targets] == \
        [c.vocab[i] for i in c.val_ids[1:5]]
    # the training windows cover the training stream, one after the other
    joined = [t for s in sc.train_sequences for t in s.tokens]
    assert joined == [c.vocab[i] for i in c.train_ids[:-1]]
    assert sc.test_sequences[0] is first


def test_typed_text_reads_unknown_characters_as_the_unknown_token(tmp_path):
    sc = load(scenario_in(tmp_path, "aaaa bbb cc d e " * 3, "window = 4\nvocab_size = 4"))
    seq = encode_text(sc, "abz")
    assert seq.tokens == ["a", "b", "\ufffd"]


@pytest.mark.parametrize("text, extra, words", [
    ("abc", "window = 4", "too few for window = 4"),
    ("x" * 100, 'window = 4\nunit = "word"', "too few"),
    (b"ab\xffcd" * 20, "window = 4", "not UTF-8"),
    (b"\xff\xfea\x00b\x00", "window = 4", "UTF-16"),
    ("abcdefgh" * 20, "window = 4\ntext = [\"a b\"]", "does not apply"),
    ("abcdefgh" * 20, "window = 1", "[data].window"),
    ("abcdefgh" * 20, "window = 4\nvalidation = 0.9", "[data].validation"),
    ("abcdefgh" * 20, "window = 4\nvocab_size = 1", "[data].vocab_size"),
])
def test_bad_files_and_keys(tmp_path, text, extra, words):
    with pytest.raises(ScenarioError) as e:
        load(scenario_in(tmp_path, text, extra))
    assert words in str(e.value)


def test_missing_file_names_it(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text(TOML.format(name="gone.txt", extra="", batch=1), encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load(toml)
    assert str(e.value).startswith(str(tmp_path / "gone.txt")) and "no such file" in str(e.value)


def test_window_key_belongs_to_file_texts():
    from engine.scenario import loads
    with pytest.raises(ScenarioError, match=r"\[data\].window: applies to a text read"):
        loads('[scenario]\nname="x"\nkind="text"\n[data]\ntext=["a b"]\nwindow=3\n')


def test_rhymes_builtin():
    sc = load("rhymes")
    c = corpus_of(sc)
    assert sc.model.hidden_size in range(64, 129)
    assert c.unit == "char" and c.window == 32 and c.unknown is None
    assert 2.9 < unigram_loss(c) < 3.1


def test_the_budgets_check_a_text_file(tmp_path):
    p = scenario_in(tmp_path, "the quick brown fox jumps over the lazy dog. " * 150,
                    "window = 500")
    p.write_text(p.read_text().replace("[train]", "[model]\nhidden_size = 1024\n[train]"))
    with pytest.raises(ScenarioError, match="budget"):
        load(p)
