# Appended by `make docs` to the conf.py that `antsibull-docs sphinx-init` writes: the site builds
# offline (no intersphinx inventory is fetched), and the few labels of Ansible's own docs that the
# generated pages point at resolve to those pages, so `sphinx-build -W` still fails on any other
# broken reference.
intersphinx_mapping = {}

ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
ANSIBLE_LABELS = {
    "action_plugins": "plugins/action.html",
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}


def _ansible_docs_label(app, env, node, contnode):
    page = ANSIBLE_LABELS.get(node.get("reftarget", ""))
    if page is None:
        return None
    from docutils import nodes

    link = nodes.reference("", "", internal=False, refuri=ANSIBLE_DOCS + page)
    link += contnode
    return link


def setup(app):
    app.connect("missing-reference", _ansible_docs_label)
    from pygments.lexers.special import TextLexer

    app.add_lexer("crontab", TextLexer)  # the guide's crontab block: Pygments has no crontab lexer


# docs/getting-started.md, rendered into the guide's page (docs/docsite/rst/getting-started.rst) by m2r2's mdinclude.
globals().setdefault("extensions", []).append("m2r2")  # `extensions` is set by the conf.py this file is appended to
