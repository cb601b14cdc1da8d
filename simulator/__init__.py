"""The traffic simulator behind ``flywheel simulate``: a seeded shop, its customers, a bot, and the events
they leave on Kafka.

- ``catalog``, ``world``, ``facts``: the shop's policies, a seeded world of them, and whether an answer states
  the rule in force.
- ``identifiers``, ``customers``: personal data as customers type it, with ground-truth spans.
- ``answerer``: the bot protocol and the policy oracle that plays it for now.
- ``timeline``, ``scoring``, ``traffic``, ``banking77``: dialogs and scores on a simulated clock.
- ``options``, ``sources``, ``summary``, ``run``: what to simulate, the broker-free event stream, and
  publishing it with confluent-kafka.
"""
