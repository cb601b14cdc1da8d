"""The traffic simulator behind ``flywheel simulate``: customers of a shop file, a bot, and the events they leave
on Kafka. It is a client of the product, like any chat platform: it reads a shop the way the product does
(``learners.rules``) and never hands the product anything a real platform would not have.

- ``world``: the shop's rules, the services it may launch, and how its rules change.
- ``identifiers``, ``customers``: personal data as customers type it, with ground-truth spans.
- ``answerer``: the bot protocol and the policy oracle that plays it; ``served``: the served model in its place.
- ``timeline``, ``scoring``, ``traffic``, ``banking77``: dialogs and scores on a simulated clock.
- ``options``, ``sources``, ``summary``, ``run``: what to simulate, the broker-free event stream, and
  publishing it with confluent-kafka.
"""
