"""Waiting politely when the oracle answers ``IDLE``.

KerasTuner's search loop asks the oracle again at once after an ``IDLE`` answer
(the oracle waits for running trials, e.g. the end of a coarse-to-fine round or
a Hyperband bracket). In the distributed mode every ask is a gRPC call, so an
idle worker would keep a CPU core and the chief's single server thread busy.
"""

import time


class IdlePolling:
    """Tuner mixin: sleep `idle_poll_interval` seconds before asking again after ``IDLE``.

    `pre_create_trial` runs before every ask and `on_trial_begin` only when a
    trial starts, so two asks without a trial in between mean ``IDLE``.
    """

    idle_poll_interval = 0.5

    def pre_create_trial(self):
        if getattr(self, "_asked_without_trial", False):
            time.sleep(self.idle_poll_interval)
        self._asked_without_trial = True
        super().pre_create_trial()

    def on_trial_begin(self, trial):
        self._asked_without_trial = False
        super().on_trial_begin(trial)
