"""The control loop under any sequence of the operator's keys (hypothesis, on the fake clock and
devices of test_control_loop): the dataset stays consistent with what the loop reported."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_control_loop import PERIOD, Rig

from core import messages as m

KEYS = st.sampled_from(
    [m.ExitEarly(), m.Rerecord(), m.Pause(), m.Resume(), m.Stop(False), m.Stop(True)]
)


@settings(max_examples=60, deadline=None)
@given(
    episodes=st.integers(1, 3),
    reset_s=st.sampled_from([0, 0.2]),
    presses=st.lists(st.tuples(st.integers(0, 30), KEYS), max_size=8),
)
def test_any_sequence_of_keys_keeps_the_dataset_consistent(episodes, reset_s, presses):
    rig = Rig(episodes=episodes, episode_s=0.3, reset_s=reset_s)
    for tick, key in presses:
        rig.press(tick * PERIOD + PERIOD / 2, key)
    rig.clock.at(5.0, lambda: rig.loop.commands.put(m.Stop(False)))  # a paused arm ends too
    reason = rig.run()
    saves = sum(1 for entry in rig.frames.log if entry[0] == "save")
    taken_back = sum(1 for entry in rig.frames.log if entry[0] == "remove_last")
    kept = saves - taken_back
    assert kept == rig.frames.episodes_saved == rig.plan.episode
    assert 0 <= kept <= episodes
    assert reason in ("completed", "stopped")
    if reason == "completed":
        assert kept == episodes
    # episodes are recorded in order, each index once it is kept
    started = [e.episode_index for e in rig.reports.of(m.EpisodeStarted)]
    assert started == sorted(started) or taken_back > 0
    assert all(0 <= i < episodes for i in started)
    # paused steps record nothing: no episode is longer than its 3 frames (0.3 s at 10 Hz)
    assert all(1 <= entry[1] <= 3 for entry in rig.frames.log if entry[0] == "save")
    assert [s.step for s in rig.reports.steps] == list(range(len(rig.reports.steps)))
