"""An honest follower keeps under the presenter's request allowance, so it is never taken for
a flood and dropped, and no request of its own goes unanswered for being over the rate: a
follower whose weights differ from the presenter's (another machine's arithmetic) asks for
them at every epoch the presenter shows, and a presenter stepping through epochs fast must not
make it ask faster than the presenter answers. A request held back is asked again later."""

from __future__ import annotations

import asyncio

from helpers import until

from rnntui.classroom import follower as follower_mod
from rnntui.classroom.follower import Follower
from rnntui.classroom.join import Join, new_token
from rnntui.classroom.presenter import Presenter

HOST = "127.0.0.1"


async def test_many_weight_requests_at_once_stay_within_the_presenters_allowance():
    token = new_token()
    seen: list[int] = []
    pres = Presenter(token, host=HOST, port=0, weights=lambda e, d: seen.append(e))
    await pres.start()
    events: list[str] = []
    f = Follower(Join(HOST, pres.port, token), lambda e, d: events.append(e))
    f.start()
    try:
        await until(lambda: f.connected and pres.followers == 1, "following")
        sent = sum(f.request({"type": "need_weights", "epoch": i, "sha256": f"{i:064x}"},
                             [("W_h", (3, 3))]) for i in range(100))
        assert 1 <= sent <= follower_mod.REQUEST_BURST  # the rest held back, not sent
        await until(lambda: len(seen) + pres.ignored >= sent or pres.dropped,
                    "the presenter read every request sent")
        assert pres.dropped == 0 and pres.ignored == 0 and f.connected
        assert "lost" not in events and "error" not in events
    finally:
        await f.stop()
        await pres.stop()
