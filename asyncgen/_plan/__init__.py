"""Seeded random streams, loadable sets and query plans: pure and bit-exact (layer 2).

Pure functions of the effective settings and the QSL sizes, bit-exact with the reference
LoadGen 6.0.17 (``GenerateLoadableSets`` and ``GenerateQueries`` in its ``loadgen.cc``). Random
streams are all ``std::mt19937`` (``rng``):

* ``qsl_rng_seed`` shuffles the sample indices before they are cut into loadable sets
  (``loadable``);
* ``sample_index_rng_seed`` picks the samples of each query (``positions``);
* ``schedule_rng_seed`` drives the Server's exponential inter-arrival gaps (``schedule``);
* ``SequenceGen`` owns one more engine with the default seed, one draw per generated sample,
  that picks the responses written to the accuracy log in performance mode (``sequence``,
  ``sampling``).

``queries`` puts them together into a ``QueryPlan`` per issue series.
"""
