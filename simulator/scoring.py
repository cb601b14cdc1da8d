"""Satisfaction: who answers the survey, what they score, and when the score arrives.

Scores follow the outcome: a right answer gets mostly 9-10, a wrong one mostly 0-6, a wrong one that a
human agent put right lands in between. Not every customer answers, and the score may reach its topic
before the conversation does (the chat platform reports late) or long after it (the survey is answered
later): the stream join must cope with both.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from simulator.customers import Entity
from simulator.timeline import SimEvent, Timeline, seconds
from streams.events import Conversation, Locale, Satisfaction

Outcome = Literal["right", "handed_off", "wrong", "acknowledged"]

# Weights of NPS 0..10 by outcome.
_NPS_WEIGHTS: dict[Outcome, tuple[int, ...]] = {
    "right": (1, 0, 0, 1, 1, 1, 2, 4, 9, 30, 51),  # 9-10: 81 %
    "handed_off": (6, 5, 8, 10, 12, 14, 15, 12, 9, 5, 4),  # 0-6: 70 %
    "wrong": (20, 12, 14, 14, 12, 10, 8, 5, 3, 1, 1),  # 0-6: 90 %
    "acknowledged": (5, 3, 4, 5, 7, 10, 12, 15, 16, 12, 11),  # no answer yet: anything goes
}
_COMMENTS: dict[Locale, dict[bool, tuple[str, ...]]] = {
    "zh": {True: ("回复很快，解决了我的问题", "客服很专业，点赞", "很清楚，谢谢"),
           False: ("答非所问", "说的和页面上不一样", "机器人根本没用", "等了很久才有人工")},
    "en": {True: ("Quick and clear, thanks!", "Solved my problem.", "Helpful bot."),
           False: ("Wrong answer.", "That's not what your website says.", "Useless bot.", "Took ages to get a human.")},
}


class Surveys:
    """The survey tool: scores conversations as they finish and schedules both on the timeline."""

    def __init__(self, seed: str, response_rate: float, early_share: float, mean_delay_s: float = 600.0,
                 comment_rate: float = 0.25):
        self.rng = random.Random(seed)
        self.response_rate, self.early_share = response_rate, early_share
        self.mean_delay_s, self.comment_rate = mean_delay_s, comment_rate

    def nps(self, outcome: Outcome) -> int:
        return self.rng.choices(range(11), weights=_NPS_WEIGHTS[outcome])[0]

    def report(self, timeline: Timeline, conversation: Conversation, outcome: Outcome,
               entities: Mapping[int, tuple[Entity, ...]], asked: str | None = None) -> None:
        """Schedule a finished conversation and, if the customer answers the survey, its score.

        ``conversation.event_time`` is when it ended; it is reported a moment later, or, for the share of
        scores that arrive first, only after its score was given.
        """
        rng, end = self.rng, conversation.event_time
        answered = rng.random() < self.response_rate
        report_delay = seconds(rng.uniform(0.2, 3.0))
        survey_delay = report_delay + seconds(rng.expovariate(1.0 / self.mean_delay_s))
        if answered and rng.random() < self.early_share:
            report_delay = survey_delay + seconds(rng.uniform(5.0, 120.0))
        timeline.schedule(SimEvent(conversation.model_copy(update={"event_time": end + report_delay}), entities,
                                   asked))
        if answered:
            timeline.schedule(SimEvent(self._score(timeline, conversation, outcome, end + survey_delay)))

    def _score(self, timeline: Timeline, conversation: Conversation, outcome: Outcome,
               at: datetime) -> Satisfaction:
        nps = self.nps(outcome)
        comment = None
        if self.rng.random() < self.comment_rate:
            comment = self.rng.choice(_COMMENTS[conversation.locale][nps >= 7])
        return Satisfaction(event_id=timeline.event_id(), event_time=at, conversation_id=conversation.conversation_id,
                            nps=nps, comment=comment)
