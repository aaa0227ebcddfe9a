"""An allow-list contract type for import-linter, which ships only deny-lists (``forbidden``): a source module
may import, of the project's root packages, only itself and the allowed modules. Anything else of the project
breaks the contract, named with its line; imports outside the root packages (the standard library, third-party
packages) are not its business. Only direct imports count: what an allowed module imports is its own affair.

``lint-imports`` puts the current directory on ``sys.path``: run it from the repository root. In
``pyproject.toml``::

    [tool.importlinter]
    contract_types = ["allowed_imports: tools.importlinter_allow.AllowedImportsContract"]

    [[tool.importlinter.contracts]]
    name = "The dashboard imports only the stats layer, the report, the store and the cache"
    type = "allowed_imports"
    source_modules = ["dashboard"]
    allowed_modules = ["harness.stats", "harness.report", "harness.store", "harness.errors", "harness.cache"]
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain.imports import Module


class AllowedImportsContract(Contract):
    """Each of ``source_modules`` (a package: with every module under it) imports, of the root packages, only
    modules inside itself or inside one of ``allowed_modules``."""

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        roots = set(self.session_options["root_packages"])
        for module in (*self.source_modules, *self.allowed_modules):
            if module.root_package_name in roots and module.name not in graph.modules:
                raise ValueError(f"Module '{module.name}' does not exist.")
        broken = []
        for source in self.source_modules:
            for importer in sorted({source.name} | graph.find_descendants(source.name)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if self._allowed(source, Module(imported), roots):
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    broken.append({"importer": importer, "imported": imported,
                                   "lines": [d["line_number"] for d in details]})
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def _allowed(self, source: Module, imported: Module, roots: set[str]) -> bool:
        return (imported.root_package_name not in roots or imported.is_in_package(source)
                or any(imported.is_in_package(allowed) for allowed in self.allowed_modules))

    def render_broken_contract(self, check: ContractCheck) -> None:
        for b in check.metadata["broken"]:
            lines = ", ".join(f"l.{n}" for n in b["lines"]) or "l.?"
            output.print_error(f"{b['importer']} is not allowed to import {b['imported']}:")
            output.new_line()
            output.print_error(f"-   {b['importer']} -> {b['imported']} ({lines})", bold=False)
            output.new_line()
        roots = ", ".join(self.session_options["root_packages"])
        sources, allowed = (", ".join(m.name for m in ms) for ms in (self.source_modules, self.allowed_modules))
        output.print(f"Of {roots}, {sources} may import only its own modules and: {allowed}.")
