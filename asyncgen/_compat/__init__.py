"""The machinery behind :mod:`asyncgen.compat`, the drop-in for the reference ``mlperf_loadgen``.

``enums`` and ``settings`` mirror the binding's value types, ``config`` its ``FromConfig`` rules,
``records`` its sample records, ``library`` its SUT/QSL handles, ``start`` its blocking
``StartTest``, ``complete`` its completion calls. Everything public is re-exported from
``asyncgen.compat``.
"""
