"""The Feast feature store for scored dialogs, policies and per-intent quality.

Entry points, each importing Feast (about 5 s) only when used:
- ``features.writer.FeatureWriter``: the stream's write path (scored dialogs, routed; policy updates);
- ``features.online.OnlineFeatures``: serving's reads (the policy in force, an intent's quality);
- ``features.training.read_dialogs``: training windows from the dialog log (the routed detractors);
- ``features.traffic.read_traffic``: drift windows from the traffic log (every scored dialog);
- ``features.repository``: ``flywheel features apply`` / ``show`` (apply, describe).
``features.config.store_config`` turns ``Settings`` into the ``StoreConfig`` they all take.
"""
