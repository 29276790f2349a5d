"""sasnn.io.read: real files from sasdata's example data, q units, repairs, refusals, writing."""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pytest

from sasnn.io.curve import Curve
from sasnn.io.read import (
    MIN_POINTS,
    DataFormatError,
    DataRepairWarning,
    QUnitWarning,
    example_data_path,
    load_curves,
    write_curve,
)
from sasnn.io.repair import local_scatter_sigma, merge_duplicates
from sasnn.io.text import header_q_unit, normalize_q_unit, sniff_kind


def load_recording(path, **kwargs) -> tuple[list[Curve], list[str]]:
    """load_curves, returning the repair and q-unit messages; any other warning fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curves = load_curves(path, **kwargs)
    for w in caught:
        assert issubclass(w.category, (DataRepairWarning, QUnitWarning)), w
        assert str(path) in str(w.message)
    return curves, [str(w.message) for w in caught]


def assert_sane(curve: Curve) -> None:
    assert np.all(np.isfinite(curve.q)) and np.all(np.diff(curve.q) > 0)
    assert np.all(curve.intensity > 0) and np.all(np.isfinite(curve.intensity))
    assert np.all(curve.sigma > 0) and np.all(np.isfinite(curve.sigma))
    for res in (curve.dq, curve.dq_slit):
        assert res is None or (np.all(np.isfinite(res)) and len(res) == len(curve.q))


# ---------------------------------------------------------------------------- real files

# file: one (points, q_min, q_max in 1/A, resolution) per entry, as sasnn reads it
REAL_FILES = {
    # the dev set (DESIGN.md section 8)
    "AOT_Microemulsion-Core_Contrast.xml": [(113, 0.009, 0.277, None)],
    "ISIS_Polymer_Blend_RT2.xml": [(124, 0.008, 0.254, "dq")],
    "hSDS_D2O_2p0_percent.xml": [(133, 0.011, 0.281, None)],
    "Ludox_silica.xml": [(92, 0.00714, 0.251694, "dq")],
    "latex_smeared.xml": [(299, 0.003797, 0.401, "dq"), (82, 7.7457e-05, 0.00554976, "slit")],
    "P123_D2O_30_percent.xml": [(124, 0.009, 0.2545, None)],
    "apoferritin.txt": [(364, 0.0055, 0.3955, "dq")],
    "conalbumin.txt": [(392, 0.0055, 0.3995, "dq")],
    # one file per other format
    "33837rear_1D_1.75_16.5_NXcanSAS.h5": [(66, 0.00416, 0.618924, None)],
    "1umSlitSmearSphere.ABS": [(150, 1e-4, 0.01, "slit")],  # NIST ABS, slit-smeared
    "AUSANS_run3_2_no_buffer.ABS": [(115, 0.01943, 0.229, "dq")],
    "Anton-Paar.pdh": [(673, 0.006604, 0.45017, None)],  # PDH is in 1/nm
    "Alumina_usaxs.csv": [(112, 0.000246465, 0.675764, None)],
    "ISIS_83404.TXT": [(121, 0.009, 0.249, None)],  # ISIS/RKH (COLETTE) ASCII
    "beam profile.DAT": [(48, 0.00754396, 0.36211, None)],  # SAXS BOX .DAT, in 1/nm
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_file_loads_with_q_in_inverse_angstrom(name):
    path = example_data_path(name)
    curves, _ = load_recording(path)
    expected = REAL_FILES[name]
    assert len(curves) == len(expected)
    for curve, (n, q_min, q_max, resolution) in zip(curves, expected, strict=True):
        assert_sane(curve)
        assert curve.source == str(path)
        assert len(curve.q) == n
        np.testing.assert_allclose([curve.q[0], curve.q[-1]], [q_min, q_max], rtol=1e-6)
        assert (curve.dq is not None) == (resolution == "dq")
        assert (curve.dq_slit is not None) == (resolution == "slit")
        assert curve.meta["q_unit"] in ("1/A", "1/nm")
        if len(expected) == 1:
            assert curve.entry == ""


def test_multi_entry_file_gives_named_sans_and_usans_curves():
    sans, usans = load_recording(example_data_path("latex_smeared.xml"))[0]
    assert sans.entry != usans.entry and sans.entry and usans.entry
    assert "Qdev" in sans.entry and "slit" in usans.entry  # named from the SASentry titles
    assert sans.label == f"{sans.source} [{sans.entry}]"
    assert sans.short_label == f"latex_smeared.xml [{sans.entry}]"  # plot titles: no folders
    np.testing.assert_allclose(usans.dq_slit, 0.117)  # NIST USANS slit height, 1/A
    assert usans.dq is None and sans.dq_slit is None


def test_pdh_is_read_in_inverse_nm():
    # sasdata's own Anton Paar reader fails; its ASCII fallback takes 1/nm for 1/A
    (curve,), _ = load_recording(example_data_path("Anton-Paar.pdh"))
    assert curve.meta["q_unit"] == "1/nm"
    (raw,), _ = load_recording(example_data_path("Anton-Paar.pdh"), q_units="A")
    np.testing.assert_allclose(curve.q * 10, raw.q, rtol=1e-14)


def test_missing_sigma_is_estimated_from_the_scatter_with_one_warning():
    path = example_data_path("98929.txt")  # two columns, no dI, no unit
    curves, messages = load_recording(path)
    (curve,) = curves
    sigma_lines = [m for m in messages if "sigma" in m]
    assert len(sigma_lines) == 1 and re.search(
        r"98929\.txt: the file gives no uncertainties: estimated sigma for all 140 points from the "
        r"scatter of the data", sigma_lines[0])
    np.testing.assert_allclose(curve.sigma, local_scatter_sigma(curve.intensity, curve.q))
    assert curve.meta["sigma_estimated"] == 140


def test_implausible_dq_column_is_ignored_with_a_warning():
    (curve,), messages = load_recording(example_data_path("APS_DND-CAT.TXT"))
    assert any(re.search(r"APS_DND-CAT\.TXT: ignored the dQ column", m) for m in messages)
    assert curve.dq is None


def test_example_data_path():
    folder = example_data_path()
    assert folder.is_dir() and folder.name == "1d_data"
    assert example_data_path("conalbumin.txt") == folder / "conalbumin.txt"
    for bad in ("no_such_file.xml", "../1d_data/conalbumin.txt"):
        with pytest.raises(FileNotFoundError, match=re.escape(repr(bad))):
            example_data_path(bad)


# ---------------------------------------------------------------------------- q units

ROWS = np.column_stack([np.linspace(0.05, 2.0, 40), np.linspace(100, 1, 40), np.full(40, 0.5)])


def write_table(path, header: str, rows=ROWS) -> None:
    lines = [header] + [" ".join(repr(float(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("header", ["q (1/nm)  I(q)  err", "# Q [nm^-1], I [1/cm], dI",
                                    "s, nm-1   I(s)   err", "q(nm⁻¹) I dI"])
def test_inverse_nm_header_divides_q_by_exactly_ten(tmp_path, header):
    write_table(tmp_path / "a.txt", "Q (1/A)  I (1/cm)  dI (1/cm)")
    write_table(tmp_path / "nm.txt", header)
    (in_a,), _ = load_recording(tmp_path / "a.txt")
    (in_nm,), _ = load_recording(tmp_path / "nm.txt")
    np.testing.assert_allclose(in_a.q, ROWS[:, 0], rtol=1e-15)  # sasdata may move 1 ulp
    np.testing.assert_array_equal(in_nm.q, in_a.q / 10)
    np.testing.assert_array_equal(in_nm.intensity, in_a.intensity)
    assert (in_nm.meta["q_unit"], in_nm.meta["q_unit_source"]) == ("1/nm", "header")


def test_q_units_override_beats_header_and_metadata(tmp_path):
    write_table(tmp_path / "nm.txt", "q (1/nm) I err")
    (forced,), _ = load_recording(tmp_path / "nm.txt", q_units="A")
    np.testing.assert_allclose(forced.q, ROWS[:, 0], rtol=1e-15)
    assert forced.meta["q_unit_source"] == "override"
    xml = example_data_path("ISIS_Polymer_Blend_RT2.xml")  # unit="1/A" in the file
    (as_a,), _ = load_recording(xml)
    (as_nm,), _ = load_recording(xml, q_units="nm")
    np.testing.assert_allclose(as_nm.q, as_a.q / 10, rtol=1e-14)
    np.testing.assert_allclose(as_nm.dq, as_a.dq / 10, rtol=1e-14)


def test_cansas_unit_attribute_in_inverse_nm_is_honoured(tmp_path):
    text = example_data_path("ISIS_Polymer_Blend_RT2.xml").read_text()
    (tmp_path / "nm.xml").write_text(text.replace('unit="1/A"', 'unit="1/nm"'))
    (curve,), _ = load_recording(tmp_path / "nm.xml")
    assert curve.meta["q_unit"] == "1/nm"
    np.testing.assert_allclose(curve.q[[0, -1]], [0.0008, 0.0254], rtol=1e-12)


def test_bad_q_units_argument():
    with pytest.raises(ValueError, match="q_units must be None.*'A' or 'nm', got 'angstrom'"):
        load_curves(example_data_path("conalbumin.txt"), q_units="angstrom")


@pytest.mark.parametrize(("unit", "expected"), [
    ("1/A", "A"), ("A^{-1}", "A"), ("1/angstrom", "A"), ("Å⁻¹", "A"), ("1/Å", "A"),
    ("1/nm", "nm"), ("nm^-1", "nm"), ("n_m^-1", "nm"), ("nm-1", "nm"), ("nm^{-1}", "nm"),
    ("1/cm", None), ("nm", None), ("", None), (None, None),
])
def test_normalize_q_unit(unit, expected):
    assert normalize_q_unit(unit) == expected


def test_header_sniffing_ignores_other_units():
    assert header_q_unit("Wavelength 0.154 nm\nI (1/cm) vs Q\n0.1 2\n") is None
    assert header_q_unit("# Q (1/A)  I (1/cm)\n") == "A"
    assert sniff_kind(b"<X> <Y> <dY>\n0.1 1 1\n") == "text"  # SasView's ASCII header


# ---------------------------------------------------------------------------- repairs


def test_non_positive_points_are_dropped_with_a_warning(tmp_path):
    rows = ROWS.copy()
    rows[[3, 7], 1] = [-1.0, 0.0]  # I <= 0
    rows[0, 0] = 0.0  # q = 0 (sasdata drops this one itself)
    rows[20, 1] = np.nan
    write_table(tmp_path / "neg.txt", "q (1/A) I dI", rows)
    with pytest.warns(DataRepairWarning, match=r"neg\.txt: dropped 2 of 38 points"):
        (curve,) = load_curves(tmp_path / "neg.txt")
    assert len(curve.q) == 36 and np.all(curve.intensity > 0)


def test_duplicate_q_is_merged_by_inverse_variance(tmp_path):
    rows = ROWS.copy()
    rows[11] = [rows[10, 0], 50.0, 1.0]  # same q as row 10 (I=75, sigma 0.5)
    i10 = rows[10, 1]
    write_table(tmp_path / "dup.txt", "q (1/A) I dI", rows[np.r_[11, 0:11, 12:40]])  # unsorted too
    with pytest.warns(DataRepairWarning, match=r"dup\.txt: merged 1 points with duplicate q"):
        (curve,) = load_curves(tmp_path / "dup.txt")
    assert len(curve.q) == 39 and np.all(np.diff(curve.q) > 0)
    k = np.searchsorted(curve.q, rows[10, 0])
    np.testing.assert_allclose(curve.intensity[k], (i10 / 0.25 + 50.0) / (1 / 0.25 + 1))
    np.testing.assert_allclose(curve.sigma[k], (1 / 0.25 + 1) ** -0.5)


def test_partly_missing_sigma_uses_the_other_points_relative_error(tmp_path):
    rows = ROWS.copy()
    rows[::2, 2] = 0.1 * rows[::2, 1]  # 10 % errors on even points
    rows[1::2, 2] = [-1.0, 0.0] * 10  # odd points: no usable sigma
    write_table(tmp_path / "half.txt", "q (1/A) I dI", rows)
    with pytest.warns(DataRepairWarning, match=r"half\.txt: estimated sigma for 20 of 40 .*median"):
        (curve,) = load_curves(tmp_path / "half.txt")
    np.testing.assert_allclose(curve.sigma, 0.1 * curve.intensity)


def test_merge_duplicates_without_duplicates_changes_nothing():
    q = np.linspace(0.01, 0.2, 12)
    merged = merge_duplicates(q, 2 * q, q / 10)
    np.testing.assert_allclose(merged["intensity"], 2 * q)
    np.testing.assert_allclose(merged["sigma"], q / 10)
    assert merged["dq"] is None


def test_bad_entry_in_multi_entry_file_is_skipped_with_a_warning(tmp_path):
    text = example_data_path("latex_smeared.xml").read_text()
    head, usans = text.split("<Run>latex_usans</Run>")
    rows = usans.split("<Idata>")
    (tmp_path / "cut.xml").write_text(head + "<Run>latex_usans</Run>" + rows[0] + "<Idata>"
                                      + "<Idata>".join(rows[1:4]).split("</SASdata>")[0]
                                      + "</SASdata>" + usans.split("</SASdata>", 1)[1])
    curves, messages = load_recording(tmp_path / "cut.xml")
    assert len(curves) == 1 and "Qdev" in curves[0].entry
    assert any(re.search(r"cut\.xml \[.*slit\]: only 3 usable points.*; entry skipped", m)
               for m in messages)


# ---------------------------------------------------------------------------- refusals

PASSWD_XXE = """<?xml version="1.0"?>
<!DOCTYPE SASroot [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<SASroot version="1.0" xmlns="urn:cansas1d:1.0"><SASentry><Title>&xxe;</Title><SASdata>
<Idata><Q unit="1/A">0.1</Q><I unit="1/cm">1</I></Idata></SASdata></SASentry></SASroot>
"""
LAUGHS = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' + "".join(
    f' <!ENTITY lol{k} "{("&lol%s;" % (k - 1 if k > 1 else "")) * 10}">\n' for k in range(1, 10)
) + "]>\n<SASroot><SASentry><Title>&lol9;</Title></SASentry></SASroot>\n"


def rows_text(rows) -> str:
    return "\n".join(" ".join(f"{v:g}" for v in row) for row in rows) + "\n"


MALFORMED = {  # name: (content, expected message after "<path>: ")
    "empty.txt": (b"", "file is empty"),
    "blank.txt": (b"\n  \n\t\n", "file is empty"),
    "garbage.dat": (bytes(range(256)) * 16, "binary file, not a SAS data format"),
    "garbage.xml": (b"<?xml \x00\x01\x02\xff" * 100, "binary file"),
    "truncated.xml": (None, "not readable as canSAS XML"),  # built from latex_smeared.xml
    "page.xml": (b"<?xml version='1.0'?><html><body>hi</body></html>",
                 "not readable as canSAS XML"),
    "nan.txt": (b"nan nan 1\n" * 30, "no usable data points: every row has a non-finite"),
    "few.txt": (rows_text(ROWS[:3]).encode(), "only 3 numeric data rows; at least 10"),
    "seven.txt": (rows_text(ROWS[:7]).encode(), "only 7 usable points .* at least 10"),
    "negative.txt": (rows_text(ROWS * [1, -1, 1]).encode(), "only 0 usable points"),
    "one_column.txt": (rows_text(ROWS[:, :1]).encode(), "no intensity column"),
    "prose.txt": (b"Dear user,\nthis is a letter, not data.\n", "not a data file: no numeric rows found"),
    "undecodable.txt": (b"# \x81\x8d\x90 header\n" + rows_text(ROWS).encode(),
                        "text is neither UTF-8 nor Windows-1252"),
    "xxe.xml": (PASSWD_XXE.encode(), "declares XML entities, which sasnn refuses to expand"),
    "xxe.txt": (PASSWD_XXE.encode(), "declares XML entities"),  # any extension reaches lxml
    "laughs.xml": (LAUGHS.encode(), "declares XML entities"),
    "dtd.xml": (b'<?xml version="1.0"?><!DOCTYPE SASroot SYSTEM "file:///etc/x.dtd"><SASroot/>',
                "references an external XML DTD"),
    "utf7.xml": (b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!ENTITY', "declares XML encoding 'UTF-7'"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_is_refused_in_one_quiet_line(tmp_path, capfd, caplog, name):
    content, message = MALFORMED[name]
    if content is None:
        content = example_data_path("latex_smeared.xml").read_bytes()[:5000]
    path = tmp_path / name
    path.write_bytes(content)
    start = time.perf_counter()
    with pytest.raises(DataFormatError, match=re.escape(f"{path}: ") + message) as info:
        load_curves(path)
    assert time.perf_counter() - start < 2.0
    assert "\n" not in str(info.value) and "root:" not in str(info.value)
    assert capfd.readouterr() == ("", "")  # sasdata printed nothing
    assert not caplog.records  # and logged nothing (pytest would otherwise catch it here)


def test_directory_missing_file_and_foreign_hdf5_are_refused(tmp_path, capfd):
    with pytest.raises(DataFormatError, match=re.escape(f"{tmp_path}: is a directory")):
        load_curves(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "gone.xml"))):
        load_curves(tmp_path / "gone.xml")
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "other.h5", "w") as fh:
        fh["numbers"] = np.arange(20.0)
    with pytest.raises(DataFormatError, match=r"other\.h5: HDF5 file without NXcanSAS"):
        load_curves(tmp_path / "other.h5")
    assert capfd.readouterr() == ("", "")


def test_sasdata_itself_is_silenced(tmp_path, capfd, caplog):
    from sasnn.io.read import _read_with_sasdata

    path = tmp_path / "latin.txt"  # sasdata logs the raw bytes of files it cannot decode
    path.write_bytes(b"# \x81\x8d header\n" + rows_text(ROWS).encode())
    loaded = _read_with_sasdata(path)
    assert loaded and loaded[0].errors  # sasdata failed...
    assert capfd.readouterr() == ("", "") and not caplog.records  # ...without a sound


def test_loading_leaves_sasdata_logging_as_it_was(capfd):
    import logging

    logger = logging.getLogger("sasdata")
    before = logger.handlers[:], logger.propagate
    load_recording(example_data_path("ISIS_83404.TXT"))
    assert (logger.handlers, logger.propagate) == before
    assert capfd.readouterr() == ("", "")


# ---------------------------------------------------------------------------- writing


@pytest.mark.parametrize("suffix", [".txt", ".dat"])
def test_write_curve_round_trips_through_sasdata(tmp_path, suffix):
    (curve,), _ = load_recording(example_data_path("conalbumin.txt"))
    path = write_curve(tmp_path / f"sim{suffix}", curve)
    assert "Q (1/A)  I (1/cm)  dI (1/cm)  dQ (1/A)" in path.read_text()
    (back,) = load_curves(path)  # no repairs needed: no warning
    for name in ("q", "intensity", "sigma", "dq"):
        np.testing.assert_allclose(getattr(back, name), getattr(curve, name), rtol=1e-9)
    assert back.meta["q_unit_source"] == "header"


def test_write_curve_refuses_to_overwrite_and_slit_data(tmp_path):
    q = np.linspace(0.01, 0.3, MIN_POINTS)
    curve = Curve(q=q, intensity=1 / q, sigma=0.1 / q)
    path = write_curve(tmp_path / "c.txt", curve)
    with pytest.raises(FileExistsError, match=re.escape(str(path))):
        write_curve(path, curve)
    write_curve(path, Curve(q=q, intensity=2 / q), overwrite=True)
    with pytest.warns(DataRepairWarning, match="estimated sigma"):  # sigma written as 0
        (back,) = load_curves(path)
    np.testing.assert_allclose(back.intensity, 2 / q)
    with pytest.raises(ValueError, match="slit-smeared"):
        write_curve(tmp_path / "slit.txt", Curve(q=q, intensity=1 / q, dq_slit=q))


@pytest.mark.filterwarnings("ignore::sasnn.io.read.DataRepairWarning")
def test_threads_can_read_files_at_the_same_time():
    """sasdata and the output redirect around it are process-wide: threads take turns."""
    from concurrent.futures import ThreadPoolExecutor

    from sasnn.io.read import example_data_path as example

    names = ["AOT_Microemulsion-Core_Contrast.xml", "ISIS_Polymer_Blend_RT2.xml", "Ludox_silica.xml"] * 8
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda n: len(load_curves(example(n))), names))
    assert results == [1] * len(names)
