/*
 * The compiled slot primitive: one 8-byte float64 slot that can be added to
 * and stored without a Python lock.
 *
 * A Cell either owns its slot (the in-process backend) or points at an
 * aligned 8-byte slot inside any writable buffer (a bytearray, or a shared
 * mmap for the multiprocess engine). Updates are atomic read-modify-write
 * operations on the 64-bit pattern of the double (a compare-and-swap loop for
 * add, an atomic store for set), so they are:
 *   - thread-safe with or without the GIL (free-threaded builds included),
 *   - safe from signal handlers and GC callbacks (no lock can be held twice),
 *   - correct across processes that map the same file.
 *
 * A Cell that views a buffer holds the buffer export for its whole life, so
 * the buffer cannot be resized or closed under it (mmap.close() raises
 * BufferError instead of leaving a dangling pointer).
 *
 * The Python-level API mirrors the value protocol of prometheus_client.values
 * (inc, set, get, set_exemplar, get_exemplar) so that a Cell is directly the
 * value object a metric child holds: the hot path is one method call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(__GNUC__) && !defined(__clang__)
#error "atomic builtins are required; the pure-Python cells are used instead"
#endif

typedef struct {
    PyObject_HEAD
    double *slot;         /* points at own_slot or into view */
    double own_slot;      /* storage when the cell owns its slot */
    Py_buffer view;       /* held export when the cell views a buffer */
    int has_view;
    PyObject *exemplar;   /* latest Exemplar or NULL */
    PyObject *weakreflist;
} CellObject;

static inline double
load_slot(double *slot)
{
    uint64_t bits = __atomic_load_n((uint64_t *)slot, __ATOMIC_ACQUIRE);
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline void
store_slot(double *slot, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    __atomic_store_n((uint64_t *)slot, bits, __ATOMIC_RELEASE);
}

static inline void
add_slot(double *slot, double amount)
{
    uint64_t *bits_ptr = (uint64_t *)slot;
    uint64_t old_bits = __atomic_load_n(bits_ptr, __ATOMIC_RELAXED);
    uint64_t new_bits;
    double value;
    do {
        memcpy(&value, &old_bits, sizeof value);
        value += amount;
        memcpy(&new_bits, &value, sizeof new_bits);
    } while (!__atomic_compare_exchange_n(bits_ptr, &old_bits, new_bits, 1,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

/* float() of an argument the way the classic value classes see it:
 * a float is taken as is, anything else goes through __float__/__index__.
 * Strings are rejected with the TypeError `0.0 += '1'` gives. */
static inline int
as_double(PyObject *obj, double *out)
{
    if (PyFloat_CheckExact(obj)) {
        *out = PyFloat_AS_DOUBLE(obj);
        return 0;
    }
    if (PyLong_CheckExact(obj)) {
        double value = PyLong_AsDouble(obj);
        if (value == -1.0 && PyErr_Occurred()) {
            return -1;
        }
        *out = value;
        return 0;
    }
    double value = PyFloat_AsDouble(obj);
    if (value == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            /* The message a float += amount gives, as classic value stores raise. */
            PyErr_Format(PyExc_TypeError, "unsupported operand type(s) for +=: 'float' and '%.200s'",
                         Py_TYPE(obj)->tp_name);
        }
        return -1;
    }
    *out = value;
    return 0;
}

/* Point the cell at `offset` of `buffer` (or at its own slot for None).
 * On failure the cell is left exactly as it was. */
static int
point_cell(CellObject *self, PyObject *buffer, Py_ssize_t offset)
{
    if (buffer == Py_None) {
        if (self->has_view) {
            self->has_view = 0;
            PyBuffer_Release(&self->view);
        }
        self->own_slot = 0.0;
        self->slot = &self->own_slot;
        return 0;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        return -1;
    }
    if (offset < 0 || offset > view.len - (Py_ssize_t)sizeof(double)) {
        PyErr_Format(PyExc_ValueError,
                     "slot offset %zd is outside the buffer of %zd bytes", offset, view.len);
        PyBuffer_Release(&view);
        return -1;
    }
    char *address = (char *)view.buf + offset;
    if (((uintptr_t)address) % sizeof(double) != 0) {
        PyErr_Format(PyExc_ValueError, "slot offset %zd is not 8-byte aligned", offset);
        PyBuffer_Release(&view);
        return -1;
    }
    if (self->has_view) {
        PyBuffer_Release(&self->view);
    }
    self->view = view;
    self->has_view = 1;
    self->slot = (double *)address;
    return 0;
}

static int
Cell_init(CellObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"buffer", "offset", NULL};
    PyObject *buffer = Py_None;
    Py_ssize_t offset = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|On:Cell", kwlist, &buffer, &offset)) {
        return -1;
    }
    if (self->has_view || self->slot != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Cell is already initialised");
        return -1;
    }
    return point_cell(self, buffer, offset);
}

static PyObject *
Cell_rebind(CellObject *self, PyObject *args)
{
    PyObject *buffer = Py_None;
    Py_ssize_t offset = 0;
    if (!PyArg_ParseTuple(args, "|On:rebind", &buffer, &offset)) {
        return NULL;
    }
    if (point_cell(self, buffer, offset) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
Cell_traverse(CellObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->exemplar);
    if (self->has_view) {
        Py_VISIT(self->view.obj);
    }
    return 0;
}

static int
Cell_clear(CellObject *self)
{
    Py_CLEAR(self->exemplar);
    return 0;
}

static void
Cell_dealloc(CellObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    Cell_clear(self);
    if (self->has_view) {
        self->has_view = 0;
        self->slot = NULL;
        PyBuffer_Release(&self->view);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline int
check_ready(CellObject *self)
{
    if (self->slot == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Cell is not initialised");
        return -1;
    }
    return 0;
}

static PyObject *
Cell_inc(CellObject *self, PyObject *amount)
{
    double value;
    if (check_ready(self) < 0 || as_double(amount, &value) < 0) {
        return NULL;
    }
    add_slot(self->slot, value);
    Py_RETURN_NONE;
}

static PyObject *
Cell_set(CellObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    double value;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs < 1 || nargs + nkw > 2) {
        PyErr_Format(PyExc_TypeError, "set() takes 1 or 2 arguments (%zd given)", nargs + nkw);
        return NULL;
    }
    if (nkw == 1 && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "timestamp") != 0) {
        PyErr_Format(PyExc_TypeError, "set() got an unexpected keyword argument '%U'",
                     PyTuple_GET_ITEM(kwnames, 0));
        return NULL;
    }
    if (check_ready(self) < 0) {
        return NULL;
    }
    PyObject *arg = args[0];
    if (PyFloat_CheckExact(arg)) {
        value = PyFloat_AS_DOUBLE(arg);
    }
    else {
        /* float(value): accepts numeric strings, as Gauge.set('3') does. */
        PyObject *as_float = PyNumber_Float(arg);
        if (as_float == NULL) {
            return NULL;
        }
        value = PyFloat_AS_DOUBLE(as_float);
        Py_DECREF(as_float);
    }
    store_slot(self->slot, value);
    Py_RETURN_NONE;
}

static PyObject *
Cell_get(CellObject *self, PyObject *Py_UNUSED(ignored))
{
    if (check_ready(self) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(load_slot(self->slot));
}

static PyObject *
Cell_set_exemplar(CellObject *self, PyObject *exemplar)
{
    Py_INCREF(exemplar);
    Py_XSETREF(self->exemplar, exemplar);
    Py_RETURN_NONE;
}

static PyObject *
Cell_get_exemplar(CellObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->exemplar == NULL) {
        Py_RETURN_NONE;
    }
    Py_INCREF(self->exemplar);
    return self->exemplar;
}

static PyObject *
Cell_repr(CellObject *self)
{
    if (self->slot == NULL) {
        return PyUnicode_FromString("<Cell (uninitialised)>");
    }
    PyObject *value = PyFloat_FromDouble(load_slot(self->slot));
    if (value == NULL) {
        return NULL;
    }
    PyObject *text = PyUnicode_FromFormat("<Cell %R%s>", value, self->has_view ? " (view)" : "");
    Py_DECREF(value);
    return text;
}

static PyMethodDef Cell_methods[] = {
    {"inc", (PyCFunction)Cell_inc, METH_O,
     "inc(amount) -> None\n\nAtomically add amount (any real number) to the slot."},
    {"set", (PyCFunction)(void (*)(void))Cell_set, METH_FASTCALL | METH_KEYWORDS,
     "set(value, timestamp=None) -> None\n\nAtomically store float(value); the timestamp is ignored."},
    {"get", (PyCFunction)Cell_get, METH_NOARGS, "get() -> float\n\nRead the slot."},
    {"set_exemplar", (PyCFunction)Cell_set_exemplar, METH_O,
     "set_exemplar(exemplar) -> None\n\nRemember the latest exemplar."},
    {"get_exemplar", (PyCFunction)Cell_get_exemplar, METH_NOARGS,
     "get_exemplar() -> Exemplar or None"},
    {"rebind", (PyCFunction)Cell_rebind, METH_VARARGS,
     "rebind(buffer=None, offset=0) -> None\n\n"
     "Point the cell at another slot (its own when buffer is None), releasing\n"
     "the previous buffer. The value is whatever the new slot holds. Not\n"
     "thread-safe against concurrent updates: for use after fork()."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CellType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "prometheus_client.storage._cells.Cell",
    .tp_doc = PyDoc_STR(
        "Cell(buffer=None, offset=0)\n\n"
        "One float64 slot updated with atomic operations and no Python lock.\n"
        "Without a buffer the cell owns its slot; with one it views the 8-byte\n"
        "aligned slot at `offset` of that writable buffer (bytearray, mmap)."),
    .tp_basicsize = sizeof(CellObject),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Cell_init,
    .tp_dealloc = (destructor)Cell_dealloc,
    .tp_traverse = (traverseproc)Cell_traverse,
    .tp_clear = (inquiry)Cell_clear,
    .tp_methods = Cell_methods,
    .tp_repr = (reprfunc)Cell_repr,
    .tp_weaklistoffset = offsetof(CellObject, weakreflist),
};

/* Module-level helpers for readers that work on whole buffers. */

static PyObject *
cells_load(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t offset;
    if (!PyArg_ParseTuple(args, "y*n:load", &view, &offset)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (offset < 0 || offset > view.len - (Py_ssize_t)sizeof(double)
        || ((uintptr_t)((char *)view.buf + offset)) % sizeof(double) != 0) {
        PyErr_Format(PyExc_ValueError, "bad slot offset %zd", offset);
    }
    else {
        result = PyFloat_FromDouble(load_slot((double *)((char *)view.buf + offset)));
    }
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef module_methods[] = {
    {"load", cells_load, METH_VARARGS,
     "load(buffer, offset) -> float\n\nAtomically read the aligned slot at offset."},
    {NULL, NULL, 0, NULL},
};

static int
cells_exec(PyObject *module)
{
    if (PyType_Ready(&CellType) < 0) {
        return -1;
    }
    Py_INCREF(&CellType);
    if (PyModule_AddObject(module, "Cell", (PyObject *)&CellType) < 0) {
        Py_DECREF(&CellType);
        return -1;
    }
    return PyModule_AddIntConstant(module, "COMPILED", 1);
}

static PyModuleDef_Slot cells_slots[] = {
    {Py_mod_exec, cells_exec},
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef cells_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "prometheus_client.storage._cells",
    .m_doc = "Compiled float64 slots with atomic add and store.",
    .m_size = 0,
    .m_methods = module_methods,
    .m_slots = cells_slots,
};

PyMODINIT_FUNC
PyInit__cells(void)
{
    return PyModuleDef_Init(&cells_module);
}
