"""Admin unlock: right and wrong tokens, per-client and global limits, signed-in admins, quiet logs."""

import logging

import pytest

from emoexplain.app.auth import AdminGate
from emoexplain.errors import TooManyAttempts


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def gate(clock):
    return AdminGate(token="correct horse battery staple", users=("ana",), clock=clock)


def guesses_checked(gate, clock, *, per_second: float, seconds: float, clients=("x",)) -> int:
    """Replay a guessing attack; returns how many guesses were compared with the token at all."""
    checked, step = 0, 1 / per_second
    for i in range(int(per_second * seconds)):
        clock.now += step
        try:
            assert gate.check(f"guess-{i}", client=clients[i % len(clients)]) is False
            checked += 1
        except TooManyAttempts:
            pass
    return checked


def test_right_and_wrong_tokens(gate):
    assert gate.check("correct horse battery staple", client="a") is True
    assert gate.check("wrong", client="a") is False
    assert gate.check("", client="a") is False and gate.check(None, client="a") is False


def test_a_guessing_client_is_slowed_down_then_let_in_again(gate, clock):
    for _ in range(5):                                                  # the 5th starts a wait of 1 s
        assert gate.check("wrong", client="a") is False
    with pytest.raises(TooManyAttempts, match="wait 1 s") as info:
        gate.check("correct horse battery staple", client="a")         # not even compared while it holds
    assert info.value.retry_after_s == pytest.approx(1.0)
    assert gate.check("wrong", client="b") is False                    # other clients are not affected
    clock.now += 1.01
    assert gate.check("correct horse battery staple", client="a") is True
    for _ in range(5):                                                  # and the count started over
        assert gate.check("wrong", client="a") is False
    with pytest.raises(TooManyAttempts):
        gate.check("wrong", client="a")


def test_179_guesses_a_second_become_a_few_a_minute(gate, clock):
    checked = guesses_checked(gate, clock, per_second=179, seconds=60)
    assert checked <= 5 + 6                                            # 5 free, then waits of 1, 2, 4, 8, 16, 32 s


def test_rotating_clients_hits_the_global_limit(gate, clock):
    checked = guesses_checked(gate, clock, per_second=179, seconds=60, clients=[f"10.0.0.{i}" for i in range(250)])
    assert checked <= 30 + 1
    with pytest.raises(TooManyAttempts):
        gate.check("correct horse battery staple", client="new")
    clock.now += 61
    assert gate.check("correct horse battery staple", client="new") is True


def test_signed_in_admins_never_wait(gate, clock):
    guesses_checked(gate, clock, per_second=179, seconds=5, clients=[f"c{i}" for i in range(100)])
    assert gate.check(None, username="ana", client="c1") is True
    assert gate.check(None, username="mallory", client="c1") is False


def test_no_token_configured(clock):
    assert AdminGate(open_without_token=True, clock=clock).check(None) is True
    assert AdminGate(open_without_token=False, clock=clock).check("anything") is False


def test_failures_are_logged_in_one_line_without_the_guess(gate, caplog):
    with caplog.at_level(logging.WARNING, logger="emoexplain.app.auth"):
        gate.check("hunter2-guess", client="198.51.100.4")
    [record] = caplog.records
    assert record.exc_info is None and "198.51.100.4" in record.getMessage()
    assert "hunter2" not in record.getMessage() and "\n" not in record.getMessage()
