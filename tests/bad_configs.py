"""The one table of bad configs: every config the suite expects validation to refuse, and what the refusal says.

Used by ``test_bad_configs.py`` (each row through ``passivscreen validate``: exit 2, the message, no traceback,
under 5 s, nothing written), ``test_faults.py`` (each row's config through ``validate_config``, registered as
an injected fault) and ``test_config.py`` (each row's ``ConfigError`` names its field).

A row is a change merged into :data:`BASE` (top-level keys replaced), or, for what only a file can be (bytes
that are not UTF-8, a folder, a key given twice), the file itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

#: The valid config every row changes.
BASE: dict[str, Any] = {"set": "bad", "ligands": [{"name": "tmpo", "smiles": "CP(C)(C)=O"}]}
GOOD_TEXT = yaml.safe_dump(BASE)
UNEMBEDDABLE = "CP(C)(=O)CCCCCCCCCC[C@]12[C@@]3([C@]4([C@@]1([C@]5([C@@]2([C@]3([C@@]45F)F)F)F)F)F)F"


@dataclass(frozen=True)
class BadConfig:
    """One refused config.

    Attributes
    ----------
    message
        Regular expression the error message must match (``re.search``).
    field
        The config field the message must name (``config field <field>``); None for a file-level error.
    change
        Merged into :data:`BASE` (None: ``file`` is the config).
    file
        The file's content (text or bytes), or None for a folder in the config's place.
    """

    message: str
    field: str | None = None
    change: dict[str, Any] | None = None
    file: str | bytes | None = None

    def config(self) -> dict[str, Any] | None:
        """The config as a dict (None for a file-level row)."""
        return None if self.change is None else {**BASE, **self.change}

    def write(self, path) -> None:
        """Put the row where a config file is expected (a file, or a folder)."""
        if self.change is not None:
            path.write_text(yaml.safe_dump(self.config()))
        elif self.file is None:
            path.mkdir()
        elif isinstance(self.file, bytes):
            path.write_bytes(self.file)
        else:
            path.write_text(self.file)


def _lig(**entry: Any) -> dict[str, Any]:
    return {"ligands": [{"name": "x", **entry}]}


def _gfn2(**params: Any) -> dict[str, Any]:
    return {"calculator": {"backend": "gfn2", "params": params}}


_E = re.escape

BAD_CONFIGS: dict[str, BadConfig] = {
    # files: only the CLI reads them
    "not_utf8": BadConfig("not UTF-8", file=GOOD_TEXT.replace("tmpo", "tmp\xe9").encode("latin-1")),
    "folder": BadConfig("is a folder"),
    "duplicate_key": BadConfig(_E("duplicate key 'seed'"), file=GOOD_TEXT + "seed: 1\nseed: 2\n"),
    # names that become paths
    "set_of_dots": BadConfig(_E("set"), "set", {"set": ".."}),
    "ligand_of_dots": BadConfig(_E("ligands[0].name"), "ligands[0].name", _lig(name="..", smiles="CP(C)(C)=O")),
    "names_differ_only_in_case": BadConfig(
        "differ only in case",
        "ligands[1].name",
        {"ligands": [{"name": "tmpo", "smiles": "CP(C)(C)=O"}, {"name": "TMPO", "smiles": "CP(C)(C)=O"}]},
    ),
    "duplicate_names": BadConfig("duplicate", "ligands", {"ligands": [{"name": "a", "smiles": "CC=O"}] * 2}),
    "duplicate_names_two_smiles": BadConfig(
        "duplicate", "ligands", {"ligands": [{"name": "a", "smiles": "CC=O"}, {"name": "a", "smiles": "CS"}]}
    ),
    # the schema: unknown keys, types, bounds, enums; numbers that are not finite
    "unknown_key": BadConfig("Additional properties", "(top level)", {"colour": "red"}),
    "unknown_key_blue": BadConfig("Additional properties", "(top level)", {"colour": "blue"}),
    "unknown_ligand_key": BadConfig("ligand 'x'", "ligands[0]", _lig(smiles="CC=O", colour=1)),
    "layers_word": BadConfig(_E("slab.n_pbbr2_layers"), "slab.n_pbbr2_layers", {"slab": {"n_pbbr2_layers": "three"}}),
    "zero_layers": BadConfig(_E("slab.n_pbbr2_layers"), "slab.n_pbbr2_layers", {"slab": {"n_pbbr2_layers": 0}}),
    "vacuum_word": BadConfig(_E("slab.vacuum"), "slab.vacuum", {"slab": {"vacuum": "lots"}}),
    "vacuum_negative": BadConfig(_E("slab.vacuum"), "slab.vacuum", {"slab": {"vacuum": -2.0}}),
    "vacuum_negative_3": BadConfig(_E("slab.vacuum"), "slab.vacuum", {"slab": {"vacuum": -3.0}}),
    "vacuum_too_small": BadConfig(_E("slab.vacuum"), "slab.vacuum", {"slab": {"vacuum": 0.1}}),
    "vacuum_nan": BadConfig(_E("slab.vacuum"), "slab.vacuum", {"slab": {"vacuum": float("nan")}}),
    "lattice_constant_inf": BadConfig(
        _E("slab.lattice_constant"), "slab.lattice_constant", {"slab": {"lattice_constant": float("inf")}}
    ),
    "seed_negative": BadConfig(_E("seed"), "seed", {"seed": -1}),
    "seed_too_large": BadConfig(_E("seed"), "seed", {"seed": 2**40}),
    "optimizer_newton": BadConfig(_E("relax.optimizer"), "relax.optimizer", {"relax": {"optimizer": "Newton"}}),
    "fmax_inf": BadConfig(_E("relax.fmax"), "relax.fmax", {"relax": {"fmax": float("inf")}}),
    "min_contact_ratio_50": BadConfig(
        _E("placement.min_contact_ratio"), "placement.min_contact_ratio", {"placement": {"min_contact_ratio": 50}}
    ),
    "sites_not_top_pb": BadConfig(_E("placement.sites"), "placement.sites", {"placement": {"sites": [0]}}),
    "contradictory_integrity": BadConfig(
        _E("integrity.pb_br_broken"), "integrity.pb_br_broken", {"integrity": {"pb_br_bond": 3.8, "pb_br_broken": 3.4}}
    ),
    # backends: known, installed, their elements, their parameters in the engine's domain
    "unknown_backend": BadConfig(
        "unknown calculator backend", "calculator.backend", {"calculator": {"backend": "nope"}}
    ),
    "unknown_backend_dftb9": BadConfig(
        _E("calculator.backend"), "calculator.backend", {"calculator": {"backend": "dftb9"}}
    ),
    "backend_not_installed": BadConfig("cannot run here", "calculator.backend", {"calculator": {"backend": "vasp"}}),
    "backend_elements": BadConfig("emt.*cannot treat", "calculator.backend", {"calculator": {"backend": "emt"}}),
    "backend_elements_named": BadConfig(
        "cannot treat element", "calculator.backend", {"calculator": {"backend": "emt"}}
    ),
    "gfn1_periodic": BadConfig("periodic", "calculator.backend", {"calculator": {"backend": "gfn1"}}),
    "unknown_tblite_method": BadConfig(_E("method"), "calculator.params.method", _gfn2(method="GFN3-xTB")),
    "unknown_tblite_parameter": BadConfig(_E("acuracy"), "calculator.params.acuracy", _gfn2(acuracy=1)),
    "tblite_accuracy_zero": BadConfig("minimum", "calculator.params.accuracy", _gfn2(accuracy=0)),
    "tblite_negative_temperature": BadConfig(
        "minimum", "calculator.params.electronic_temperature", _gfn2(electronic_temperature=-100.0)
    ),
    "tblite_no_iterations": BadConfig("minimum", "calculator.params.max_iterations", _gfn2(max_iterations=0)),
    "gfn2_running_gfn1": BadConfig("runs 'GFN2-xTB'", "calculator.params.method", _gfn2(method="GFN1-xTB")),
    "tblite_fixed_charge": BadConfig("per system", "calculator.params.charge", _gfn2(charge=1)),
    "cp2k_negative_cutoff": BadConfig(
        "minimum",
        "tiers[1].params.cutoff_ry",
        {
            "tiers": [
                {"backend": "gfn2"},
                {"backend": "cp2k", "task": "single_point", "top_k": 1, "params": {"cutoff_ry": -5}},
            ]
        },
    ),
    "free_radius_on_gfn2": BadConfig("holds_slab=False", "hold.free_radius", {"hold": {"free_radius": 3.0}}),
    # ligands: SMILES, anchor, binding mode, the keys of one entry, what every engine computes, embedding
    "unparsable_smiles": BadConfig("ligand 'x'", "ligands[0]", _lig(smiles="CC(")),
    "unparsable_smiles_named": BadConfig(
        "ligand 'bad'.*cannot parse", "ligands[0]", {"ligands": [{"name": "bad", "smiles": "C1CC(=O"}]}
    ),
    "no_anchor": BadConfig("no anchor", "ligands[0]", _lig(smiles="CCCC")),
    "no_anchor_named": BadConfig(
        "ligand 'hexane'.*no anchor", "ligands[0]", {"ligands": [{"name": "hexane", "smiles": "CCCCCC"}]}
    ),
    "ambiguous_anchor": BadConfig("ambiguous", "ligands[0]", _lig(smiles="O=P(C)(C)CCC(C)=O")),
    "ambiguous_anchor_named": BadConfig(
        "ligand 'two'.*ambiguous", "ligands[0]", {"ligands": [{"name": "two", "smiles": "CP(C)(=O)CC(C)=O"}]}
    ),
    "salt_of_two_molecules": BadConfig("disconnected fragments", "ligands[0]", _lig(smiles="CC(C)=O.[Na+].[Cl-]")),
    "unembeddable_ligand": BadConfig("cannot embed", "ligands[0]", _lig(smiles=UNEMBEDDABLE)),
    "smiles_dummy_atom": BadConfig("dummy atom", "ligands[0].smiles", _lig(smiles="*CN")),
    "smiles_r_group_label": BadConfig("R-group", "ligands[0].smiles", _lig(smiles="CN |$R1;$|")),
    "smiles_element_beyond_xtb": BadConfig(_E("['Fr']"), "ligands[0].smiles", _lig(smiles="[Fr]CN")),
    "anchor_cooh_binding_x": BadConfig(
        "anchor 'COOH' not present", "ligands[0]", _lig(smiles="CC(=O)O", anchor="COOH", binding="X")
    ),
    "anchor_index_renumbered": BadConfig(
        "numbered differently", "ligands[0].anchor_index", _lig(smiles="CC(=O)O", binding="X", anchor_index=2)
    ),
    "library_contradicts_smiles": BadConfig(
        "names two molecules", "ligands[0].smiles", _lig(smiles="CN", library="acetone")
    ),
}
