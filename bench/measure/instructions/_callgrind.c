/* Callgrind client requests for Python: bracket a counted round.
 *
 * Each function issues one client request from callgrind.h / valgrind.h. Outside valgrind a
 * client request is a handful of no-op instructions, so calling these is always safe.
 * METH_NOARGS keeps the path between the request and the counted Python code short and
 * constant, so the bracket itself adds the same few instructions to every round.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <valgrind/callgrind.h>

static PyObject *cg_start(PyObject *self, PyObject *unused) {
    CALLGRIND_START_INSTRUMENTATION;
    Py_RETURN_NONE;
}

static PyObject *cg_stop(PyObject *self, PyObject *unused) {
    CALLGRIND_STOP_INSTRUMENTATION;
    Py_RETURN_NONE;
}

static PyObject *cg_zero(PyObject *self, PyObject *unused) {
    CALLGRIND_ZERO_STATS;
    Py_RETURN_NONE;
}

static PyObject *cg_toggle_collect(PyObject *self, PyObject *unused) {
    CALLGRIND_TOGGLE_COLLECT;
    Py_RETURN_NONE;
}

static PyObject *cg_dump(PyObject *self, PyObject *args) {
    const char *label = NULL;
    if (!PyArg_ParseTuple(args, "|z:dump", &label)) {
        return NULL;
    }
    if (label == NULL) {
        CALLGRIND_DUMP_STATS;
    } else {
        CALLGRIND_DUMP_STATS_AT(label);
    }
    Py_RETURN_NONE;
}

static PyObject *cg_running_on_valgrind(PyObject *self, PyObject *unused) {
    return PyLong_FromUnsignedLong((unsigned long)RUNNING_ON_VALGRIND);
}

static PyMethodDef methods[] = {
    {"start", cg_start, METH_NOARGS, "CALLGRIND_START_INSTRUMENTATION"},
    {"stop", cg_stop, METH_NOARGS, "CALLGRIND_STOP_INSTRUMENTATION"},
    {"zero", cg_zero, METH_NOARGS, "CALLGRIND_ZERO_STATS"},
    {"toggle_collect", cg_toggle_collect, METH_NOARGS, "CALLGRIND_TOGGLE_COLLECT"},
    {"dump", cg_dump, METH_VARARGS, "CALLGRIND_DUMP_STATS_AT(label), or DUMP_STATS"},
    {"running_on_valgrind", cg_running_on_valgrind, METH_NOARGS,
     "RUNNING_ON_VALGRIND: 0 natively, else the valgrind nesting depth"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_callgrind", "Callgrind client requests.", -1, methods,
};

PyMODINIT_FUNC PyInit__callgrind(void) {
    return PyModule_Create(&module);
}
