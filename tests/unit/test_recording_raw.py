"""The raw connection --explain hands a variant forwards everything a variant can call: a
method the base class leaves unimplemented and the recorder does not forward fails the
variant under --explain only (bulk_insert's raw_copy did, once COPY went through
copy_records)."""

import inspect

from bench.db.raw import RawConnection
from bench.measure.explain import RecordingRaw


def test_every_abstract_raw_method_is_forwarded_by_the_recorder():
    abstract = [name for name, fn in inspect.getmembers(RawConnection, inspect.isfunction)
                if "raise NotImplementedError" in inspect.getsource(fn)
                and name != "native_select_1"]  # the overhead measurement's, not a variant's
    assert "copy_records" in abstract and "fetch" in abstract
    missing = [name for name in abstract if name not in vars(RecordingRaw)]
    assert missing == []
