"""Scrap reason codes as the plant uses them: four categories, and the standard set every
installation starts with (admin adds more and deactivates what the plant does not use).

A deactivated code stays in the table: the runs and QC records that used it still name it, and
the scrap Pareto still counts them. It is only refused for new scrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.i18n import Text, _


class ScrapCategory(StrEnum):
    PRINT_FAILURE = "print_failure"
    QC_FAILURE = "qc_failure"
    HANDLING = "handling"
    OTHER = "other"


@dataclass(frozen=True)
class StandardCode:
    code: str
    category: ScrapCategory
    description: Text
    corrective_action: Text


_PRINT, _QC = ScrapCategory.PRINT_FAILURE, ScrapCategory.QC_FAILURE
_HANDLING, _OTHER = ScrapCategory.HANDLING, ScrapCategory.OTHER

STANDARD_CODES: tuple[StandardCode, ...] = (
    StandardCode(
        "ADHESION",
        _PRINT,
        _("Bed adhesion failure: the part lifted or came loose from the build plate"),
        _(
            "Clean and level the build plate, check first-layer height and bed temperature;"
            " use adhesive or a brim for large flat parts"
        ),
    ),
    StandardCode(
        "LAYER-SHIFT",
        _PRINT,
        _("Layer shift: layers offset from one another along X or Y"),
        _(
            "Check belt tension and pulleys, reduce travel speed and acceleration, clear "
            "any obstruction of the gantry"
        ),
    ),
    StandardCode(
        "NOZZLE-CLOG",
        _PRINT,
        _("Nozzle clog or under-extrusion: missing or thin layers"),
        _(
            "Clear or replace the nozzle, check filament diameter and dryness, check the "
            "extruder tension and temperature"
        ),
    ),
    StandardCode(
        "WARPING",
        _PRINT,
        _("Warping: corners or edges curled up during the print"),
        _(
            "Raise the bed temperature, use the enclosure and avoid draughts, add a brim, "
            "review part orientation"
        ),
    ),
    StandardCode(
        "SURFACE",
        _QC,
        _("Surface defects: stringing, blobs, zits, visible seams or scratches"),
        _(
            "Tune retraction and temperature, move the seam, check the part is removed and "
            "handled without scratching"
        ),
    ),
    StandardCode(
        "DIM-OOT",
        _QC,
        _("Dimensional out of tolerance against the drawing"),
        _(
            "Recalibrate steps and flow, apply shrinkage compensation, verify the slicer "
            "profile and the gauge used"
        ),
    ),
    StandardCode(
        "COLOUR",
        _QC,
        _("Colour mismatch against the approved sample"),
        _(
            "Check the material lot and colour code against the order, quarantine the lot "
            "and inform the supplier if it differs"
        ),
    ),
    StandardCode(
        "WEAK-LAYERS",
        _QC,
        _("Weak layer bonding: delamination or parts breaking at a layer line"),
        _("Raise the print temperature, reduce cooling, dry the material before printing"),
    ),
    StandardCode(
        "DROPPED",
        _HANDLING,
        _("Dropped or damaged in handling or transport inside the plant"),
        _("Use the tote or rack for the part, review the handling instruction with the team"),
    ),
    StandardCode(
        "CONTAMINATION",
        _HANDLING,
        _("Contamination: dirt, oil, dust or foreign material on the part"),
        _("Clean the work area and the trays, wear gloves, keep parts covered after QC"),
    ),
    StandardCode(
        "POST-PROCESS",
        _HANDLING,
        _("Damaged in post-processing (support removal, sanding, curing)"),
        _(
            "Review the post-processing instruction and tools; add support interfaces that "
            "release cleanly"
        ),
    ),
    StandardCode(
        "MATERIAL-DEFECT",
        _OTHER,
        _("Defective material: moist, brittle or out-of-specification filament or resin"),
        _("Quarantine the material lot, dry or return it, and raise a complaint with the supplier"),
    ),
    StandardCode(
        "SETUP",
        _OTHER,
        _("Set-up error: wrong file, profile, material or machine for the job"),
        _("Check the job card against the order before starting; use the approved file revision"),
    ),
    StandardCode(
        "OTHER",
        _OTHER,
        _("Other: give the reason in the notes"),
        _("Review the notes weekly and add a code when a reason recurs"),
    ),
)
