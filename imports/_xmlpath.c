/*
 * imports._xmlpath: the values of many child paths under many lxml elements, in C.
 *
 * Optional accelerator of imports.xmlsafe.XmlDocument.extract, which holds the
 * specification and a pure-Python implementation of it; the two must give the
 * same values (tests/unit/test_xmlpath.py compares them).  It reads libxml2's
 * node structures through lxml's public element layout (lxml.etree.h) and calls
 * no libxml2 function, so it links against nothing but Python.
 *
 * extract(elements, specs, namespace, element_type) -> list of columns
 *
 *   elements      a list of lxml elements (instances of element_type)
 *   specs         (mode, steps, attribute) tuples; steps are local names in
 *                 `namespace` ("" for no namespace), followed one child at a time
 *                 (the first child of that name at each step, like find()); a
 *                 step "*" is any element child: the first one under which the
 *                 rest of the steps lead somewhere
 *   mode TEXT     the element's text stripped, "" without text, None without element
 *        ATTR     its attribute `attribute` as written, "" without it, None without element
 *        TEXTS    the texts (unstripped, "" for none) of every child named by the last
 *                 step under the element the other steps reach; [] without one
 *        COUNT    how many such children there are
 *        CHILDREN how many element children the element has; 0 without element
 *
 * Elements are read entry by entry (all specs of one element, then the next):
 * the nodes of one element are then still in the processor's cache.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include <libxml/tree.h>
#include "lxml.etree.h"

enum { M_TEXT = 0, M_ATTR = 1, M_TEXTS = 2, M_COUNT = 3, M_CHILDREN = 4 };

#define MAX_SPECS 128
#define MAX_STEPS 16

/* The namespace of one call: its URI, and the last namespace node found to have
   it (every element of a document usually shares the root's declaration). */
typedef struct {
    const char *uri;
    const xmlNs *known;
} Namespace;

typedef struct {
    Namespace *ns;
    int mode;
    Py_ssize_t nsteps;
    Py_ssize_t walk;   /* steps followed to the element (nsteps, or one less) */
    Py_ssize_t shared; /* leading steps the previous spec followed too */
    const char *steps[MAX_STEPS];
    const char *attr;
} Spec;

static inline int same(const char *a, const char *b)
{
    /* names are short: a plain loop beats a call of strcmp */
    while (*a == *b) {
        if (*a == '\0')
            return 1;
        a++;
        b++;
    }
    return 0;
}

static int in_namespace(const xmlNode *n, Namespace *ns)
{
    if (ns->uri[0] == '\0')
        return n->ns == NULL || n->ns->href == NULL || n->ns->href[0] == '\0';
    if (n->ns == NULL || n->ns->href == NULL)
        return 0;
    if (n->ns == ns->known)
        return 1;
    if (strcmp((const char *)n->ns->href, ns->uri) != 0)
        return 0;
    ns->known = n->ns;
    return 1;
}

static int is_named(const xmlNode *n, const char *name, Namespace *ns)
{
    return n->type == XML_ELEMENT_NODE && same((const char *)n->name, name) && in_namespace(n, ns);
}

static xmlNode *first_child(xmlNode *n, const char *name, Namespace *ns)
{
    for (xmlNode *c = n->children; c != NULL; c = c->next)
        if (is_named(c, name, ns))
            return c;
    return NULL;
}

/* lxml's rule for .text: text and CDATA nodes up to the first other node,
   stepping over XInclude markers. */
static xmlNode *text_node(xmlNode *c)
{
    while (c != NULL) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
            return c;
        if (c->type != XML_XINCLUDE_START && c->type != XML_XINCLUDE_END)
            return NULL;
        c = c->next;
    }
    return NULL;
}

/* The text node at or after `c` among an attribute's children, or NULL. */
static xmlNode *attribute_text_node(xmlNode *c)
{
    while (c != NULL && c->type != XML_TEXT_NODE)
        c = c->next;
    return c;
}

/* The contents of `first` and of the nodes `next` leads to from it, joined in a
   new str ("" when `first` is NULL). */
static PyObject *joined(xmlNode *first, xmlNode *(*next)(xmlNode *))
{
    if (first == NULL)
        return PyUnicode_FromStringAndSize("", 0);
    if (next(first->next) == NULL) {
        const char *s = first->content ? (const char *)first->content : "";
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "strict");
    }
    size_t len = 0;
    for (xmlNode *t = first; t != NULL; t = next(t->next))
        if (t->content)
            len += strlen((const char *)t->content);
    char *buf = PyMem_Malloc(len + 1);
    if (buf == NULL)
        return PyErr_NoMemory();
    size_t at = 0;
    for (xmlNode *t = first; t != NULL; t = next(t->next))
        if (t->content) {
            size_t k = strlen((const char *)t->content);
            memcpy(buf + at, t->content, k);
            at += k;
        }
    PyObject *s = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)at, "strict");
    PyMem_Free(buf);
    return s;
}

/* The element's text as a new str ("" when it has none). */
static PyObject *text_of(xmlNode *n)
{
    return joined(text_node(n->children), text_node);
}

/* The element's attribute `name` (in no namespace) as a new str, "" without it. */
static PyObject *attribute_of(xmlNode *n, const char *name)
{
    for (xmlAttr *a = n->properties; a != NULL; a = a->next)
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
            return joined(attribute_text_node(a->children), attribute_text_node);
    return PyUnicode_FromStringAndSize("", 0);
}

/* The element that steps[from..to) lead to from `node`: the first child of each
   name; a "*" step tries every element child in turn (the first for which the
   rest of the path exists). */
static xmlNode *reach(xmlNode *node, const Spec *spec, Py_ssize_t from, Py_ssize_t to)
{
    for (Py_ssize_t s = from; s < to && node != NULL; s++) {
        if (spec->steps[s][0] == '*' && spec->steps[s][1] == '\0') {
            for (xmlNode *c = node->children; c != NULL; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                    continue;
                xmlNode *found = reach(c, spec, s + 1, to);
                if (found != NULL)
                    return found;
            }
            return NULL;
        }
        node = first_child(node, spec->steps[s], spec->ns);
    }
    return node;
}

static PyObject *stripped(PyObject *text, PyObject *strip)
{
    /* str.strip() only when an end may be whitespace: a visible ASCII character
       at both ends is not (every other whitespace is a control or non-ASCII) */
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    if (len == 0)
        return text;
    Py_UCS4 first = PyUnicode_READ_CHAR(text, 0), last = PyUnicode_READ_CHAR(text, len - 1);
    if (first > 0x20 && first < 0x7f && last > 0x20 && last < 0x7f)
        return text;
    PyObject *s = PyObject_CallMethodNoArgs(text, strip);
    Py_DECREF(text);
    return s;
}

/* The value of one spec under `root`.  trail[k] is the element the previous spec
   of this element reached after k steps (NULL when it reached none); the first
   `shared` steps are the same, so the walk starts from there. */
static PyObject *value(xmlNode **trail, const Spec *spec, PyObject *strip)
{
    Py_ssize_t s = spec->shared;
    xmlNode *node = trail[s];
    for (; s < spec->walk; s++) {
        if (node == NULL) {
            for (; s < spec->walk; s++)
                trail[s + 1] = NULL;
            break;
        }
        if (spec->steps[s][0] == '*' && spec->steps[s][1] == '\0') {
            node = reach(node, spec, s, spec->walk); /* never shared past a "*" */
            break;
        }
        node = first_child(node, spec->steps[s], spec->ns);
        trail[s + 1] = node;
    }
    switch (spec->mode) {
    case M_TEXT: {
        if (node == NULL)
            Py_RETURN_NONE;
        PyObject *text = text_of(node);
        return text == NULL ? NULL : stripped(text, strip);
    }
    case M_ATTR:
        if (node == NULL)
            Py_RETURN_NONE;
        return attribute_of(node, spec->attr);
    case M_TEXTS: {
        PyObject *texts = PyList_New(0);
        if (texts == NULL || node == NULL)
            return texts;
        const char *name = spec->steps[spec->nsteps - 1];
        for (xmlNode *c = node->children; c != NULL; c = c->next) {
            if (!is_named(c, name, spec->ns))
                continue;
            PyObject *text = text_of(c);
            if (text == NULL || PyList_Append(texts, text) < 0) {
                Py_XDECREF(text);
                Py_DECREF(texts);
                return NULL;
            }
            Py_DECREF(text);
        }
        return texts;
    }
    case M_COUNT: {
        long count = 0;
        if (node != NULL) {
            const char *name = spec->steps[spec->nsteps - 1];
            for (xmlNode *c = node->children; c != NULL; c = c->next)
                count += is_named(c, name, spec->ns);
        }
        return PyLong_FromLong(count);
    }
    default: { /* M_CHILDREN */
        long count = 0;
        if (node != NULL)
            for (xmlNode *c = node->children; c != NULL; c = c->next)
                count += c->type == XML_ELEMENT_NODE;
        return PyLong_FromLong(count);
    }
    }
}

static int read_specs(PyObject *specs, Namespace *ns, Spec *out, Py_ssize_t *count)
{
    Py_ssize_t m = PySequence_Fast_GET_SIZE(specs);
    if (m > MAX_SPECS) {
        PyErr_Format(PyExc_ValueError, "at most %d specs", MAX_SPECS);
        return -1;
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        PyObject *steps;
        Spec *spec = &out[j];
        spec->attr = NULL;
        spec->ns = ns;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(specs, j), "iO!z", &spec->mode,
                              &PyTuple_Type, &steps, &spec->attr))
            return -1;
        spec->nsteps = PyTuple_GET_SIZE(steps);
        spec->walk = spec->nsteps;
        if (spec->mode < M_TEXT || spec->mode > M_CHILDREN) {
            PyErr_Format(PyExc_ValueError, "unknown mode %d", spec->mode);
            return -1;
        }
        if (spec->nsteps > MAX_STEPS
            || ((spec->mode == M_TEXTS || spec->mode == M_COUNT) && spec->nsteps == 0)) {
            PyErr_SetString(PyExc_ValueError, "bad number of steps");
            return -1;
        }
        if (spec->mode == M_ATTR && spec->attr == NULL) {
            PyErr_SetString(PyExc_ValueError, "ATTR needs an attribute name");
            return -1;
        }
        for (Py_ssize_t s = 0; s < spec->nsteps; s++) {
            PyObject *step = PyTuple_GET_ITEM(steps, s);
            if (!PyUnicode_Check(step)) {
                PyErr_SetString(PyExc_TypeError, "steps must be str");
                return -1;
            }
            spec->steps[s] = PyUnicode_AsUTF8(step); /* kept alive by `specs` */
            if (spec->steps[s] == NULL)
                return -1;
        }
        if (spec->mode == M_TEXTS || spec->mode == M_COUNT) {
            if (strcmp(spec->steps[spec->nsteps - 1], "*") == 0) {
                PyErr_SetString(PyExc_ValueError,
                                "the last step of TEXTS and COUNT names the children");
                return -1;
            }
            spec->walk = spec->nsteps - 1;
        }
        spec->shared = 0;
        if (j > 0) {
            const Spec *prev = &out[j - 1];
            Py_ssize_t limit = prev->walk < spec->walk ? prev->walk : spec->walk;
            while (spec->shared < limit
                   && strcmp(prev->steps[spec->shared], spec->steps[spec->shared]) == 0
                   && strcmp(spec->steps[spec->shared], "*") != 0)
                spec->shared++;
        }
    }
    *count = m;
    return 0;
}

static PyObject *extract(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *elements, *specs, *element_type;
    Namespace ns = {NULL, NULL};
    if (!PyArg_ParseTuple(args, "OOsO!", &elements, &specs, &ns.uri, &PyType_Type, &element_type))
        return NULL;
    PyObject *els = PySequence_Fast(elements, "elements must be a sequence");
    if (els == NULL)
        return NULL;
    PyObject *sp = PySequence_Fast(specs, "specs must be a sequence");
    PyObject *strip = PyUnicode_InternFromString("strip");
    PyObject *out = NULL;
    Spec parsed[MAX_SPECS];
    Py_ssize_t m = 0;
    if (sp == NULL || strip == NULL || read_specs(sp, &ns, parsed, &m) < 0)
        goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(els);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PySequence_Fast_GET_ITEM(els, i);
        if (!PyObject_TypeCheck(e, (PyTypeObject *)element_type)
            || ((struct LxmlElement *)e)->_c_node == NULL) {
            PyErr_SetString(PyExc_TypeError, "elements must be lxml elements of a live tree");
            goto done;
        }
    }
    out = PyList_New(m);
    if (out == NULL)
        goto done;
    for (Py_ssize_t j = 0; j < m; j++) {
        PyObject *column = PyList_New(n);
        if (column == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, j, column);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        xmlNode *trail[MAX_STEPS + 1];
        trail[0] = ((struct LxmlElement *)PySequence_Fast_GET_ITEM(els, i))->_c_node;
        for (Py_ssize_t j = 0; j < m; j++) {
            PyObject *v = value(trail, &parsed[j], strip);
            if (v == NULL) {
                Py_CLEAR(out);
                goto done;
            }
            PyList_SET_ITEM(PyList_GET_ITEM(out, j), i, v);
        }
    }
done:
    Py_DECREF(els);
    Py_XDECREF(sp);
    Py_XDECREF(strip);
    return out;
}

/* True when `element` (an lxml element named `name`) is laid out as this module
   was compiled for: its node is an element of that name whose back pointer is the
   element itself (lxml keeps the proxy in the node's _private).  Guards against an
   lxml whose layout changed since this module was built. */
static PyObject *layout_ok(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *element, *element_type;
    const char *name;
    if (!PyArg_ParseTuple(args, "OsO!", &element, &name, &PyType_Type, &element_type))
        return NULL;
    if (!PyObject_TypeCheck(element, (PyTypeObject *)element_type))
        Py_RETURN_FALSE;
    const xmlNode *node = ((struct LxmlElement *)element)->_c_node;
    if (node != NULL && node->type == XML_ELEMENT_NODE && node->_private == (void *)element
        && node->name != NULL && strcmp((const char *)node->name, name) == 0)
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

static PyMethodDef methods[] = {
    {"extract", extract, METH_VARARGS,
     "extract(elements, specs, namespace, element_type) -> list of columns"},
    {"layout_ok", layout_ok, METH_VARARGS,
     "layout_ok(element, name, element_type) -> True if lxml's element layout is the expected one"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "imports._xmlpath",
    "Child-path values of lxml elements, in C (see imports.xmlsafe.XmlDocument.extract).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__xmlpath(void)
{
    return PyModule_Create(&module);
}
