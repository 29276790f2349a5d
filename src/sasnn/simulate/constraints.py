"""The rules that tie a class's drawn parameters together: the catalogue's ``constraint``
entries. A constraint takes the drawn values (a dict, auxiliary ``_`` draws included) and
returns the sasmodels parameters derived from them, or None to reject the draw.

The combinators (:func:`contrast`, :func:`all_of`, :func:`derive`, :func:`require`,
:func:`shells`) build a class's rule inline in the table; the named rules below them
carry physics that takes more than a line (Pedersen's micelle, Beaucage's levels, the
RPA's spinodal, the Hayter-Penfold charge, Baxter's adhesive spheres).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sasnn.simulate.priors import MAX_DIM, Constraint


def contrast(*pairs: tuple[str, str], minimum: float = 0.8) -> Constraint:
    """Reject draws in which any listed pair of SLDs differs by less than ``minimum``."""
    def check(p: dict) -> dict | None:
        return None if any(abs(p[a] - p[b]) < minimum for a, b in pairs) else p
    return check


def all_of(*constraints: Constraint) -> Constraint:
    """Apply constraints in order; the first rejection wins."""
    def check(p: dict) -> dict | None:
        for constraint in constraints:
            p = constraint(p)
            if p is None:
                return None
        return p
    return check


def derive(**rules: Callable[[dict], float]) -> Constraint:
    """Set parameters from the draw, e.g. ``length=lambda p: 2 * p["radius"] * p["_aspect"]``."""
    def derive(p: dict) -> dict:
        for name, rule in rules.items():
            p[name] = float(rule(p))
        return p
    return derive


def require(test: Callable[[dict], bool]) -> Constraint:
    return lambda p: p if test(p) else None


def shells(count: str, *vectors: str, maximum: int) -> Constraint:
    """Drop the unused entries of vector parameters beyond ``p[count]`` shells."""
    def trim(p: dict) -> dict:
        n = int(p[count])
        for vector in vectors:
            for k in range(n + 1, maximum + 1):
                p.pop(f"{vector}{k}", None)
        return p
    return trim


def ellipsoid_axes(p: dict) -> dict | None:
    # one aspect-ratio draw for prolate and oblate alike, never close to a sphere
    ratio = p.pop("_ratio")
    ratio = ratio if p.pop("_prolate") >= 0.5 else 1.0 / ratio
    p["radius_polar"] = p["radius_equatorial"] * ratio
    return p if max(p["radius_polar"], p["radius_equatorial"]) <= MAX_DIM else None


def polymer_micelle(p: dict) -> dict | None:
    # Pedersen's model needs R >> Rg; v_core and v_corona follow from the geometry
    # (core packing 0.68 as in sasmodels' random(); Gaussian corona chain of n segments)
    if p["radius_core"] < 2.5 * p["rg"]:
        return None
    n_aggreg = p["n_aggreg"]
    p["v_core"] = 4 * math.pi / 3 * p["radius_core"] ** 3 * 0.68 / n_aggreg
    p["v_corona"] = math.pi * p["rg"] ** 3 * math.sqrt(6 / p.pop("_segments"))
    return p


def unified_levels(p: dict) -> dict:
    # Beaucage: level k+1 is a factor 5-20 larger than level k, its Guinier prefactor
    # grows with volume, and B_k = G_k P_k / Rg_k^P_k Γ(P_k/2) keeps each level smooth.
    n = int(p["level"])
    for k in range(1, 4):
        if k > n:
            for name in ("rg", "power", "B", "G"):
                p.pop(f"{name}{k}", None)
            p.pop(f"_step{k}", None)
            continue
        if k > 1:
            p[f"rg{k}"] = p[f"rg{k - 1}"] * p.pop(f"_step{k}")
            p[f"G{k}"] = p[f"G{k - 1}"] * (p[f"rg{k}"] / p[f"rg{k - 1}"]) ** 3 * p[f"G{k}"]
        power = p[f"power{k}"]
        p[f"B{k}"] = p[f"G{k}"] * power / p[f"rg{k}"] ** power * math.gamma(power / 2)
    for k in range(1, 4):
        p.pop(f"_step{k}", None)
    return p


def rpa(p: dict) -> dict:
    # Case 0 is a C/D blend, case 1 a C-D diblock (components C and D = index 3 and 4).
    # χ is drawn as a fraction of the spinodal value so that the mean-field RPA stays in
    # the one-phase region: blend χs = (1/(N_C φ_C) + 1/(N_D φ_D))/2, diblock (χN)s ≈ 10.5.
    n_c, n_d = p.pop("_n_c"), p.pop("_n_d")
    phi = p["Phi3"]
    p["N3"], p["N4"], p["Phi4"] = n_c, n_d, 1.0 - phi
    if p["case_num"] == 0:
        chi_s = 0.5 * (1 / (n_c * phi) + 1 / (n_d * (1 - phi)))
    else:
        chi_s = 10.5 / (n_c + n_d)
    # sasmodels' K is χ / v0 (v0 = reference molar volume, 100 mL/mol here)
    p["K34"] = p.pop("_chi") * chi_s / 100.0
    return p


def hayter_msa(p: dict) -> dict | None:
    # Draw the physics, derive sasmodels' inputs. Water's permittivity at T (Malmberg &
    # Maryott 1956) gives the Bjerrum length l_B. The drawn contact potential
    # Γ = Z² l_B / (σ (1 + κσ/2)²) in kT (σ = 2 R_eff) fixes the charge Z once the total
    # screening κ is known, and sasmodels screens with the particles' own counterions
    # (Z n, n = φ / V_σ) as well as the 1:1 salt: κ² = 4π l_B (Z n + 2 c N_A). So Z is
    # solved self-consistently for the drawn salt screening κ_s; drawing κ without the
    # counterions made strongly charged, salt-free systems (ionic micelles, silica) rare
    # and weaker than drawn. Below Γ ~ 0.1 and beyond κσ ~ 15 the RMSA solver fails often.
    t = p["temperature"] - 273.15
    eps = 87.740 - 0.40008 * t + 9.398e-4 * t**2 - 1.410e-6 * t**3
    bjerrum = 1.67101e5 / (eps * p["temperature"])  # Å: e²/(4π ε0 ε kT)
    sigma = 2 * p["_radius_effective"]
    kappa_salt_sigma = p.pop("_kappa_salt_sigma")
    gamma = p.pop("_gamma")
    salt = (kappa_salt_sigma / sigma) ** 2 / (8 * math.pi * bjerrum * 6.02214e-4)  # mol/L
    # (κσ)² from counterions per unit charge: 4π l_B (φ / (π σ³ / 6)) σ² = 24 l_B φ / σ
    counterion = 24 * bjerrum * p["volfraction"] / sigma
    charge = 0.0
    for _ in range(200):  # Z ↦ sqrt(Γσ/l_B)(1 + κσ/2) grows like sqrt(Z): a contraction
        kappa_sigma = math.sqrt(kappa_salt_sigma**2 + counterion * charge)
        new = math.sqrt(gamma * sigma / bjerrum) * (1 + kappa_sigma / 2)
        converged = abs(new - charge) <= 1e-10 * new
        charge = new
        if converged:
            break
    if salt > 0.5 or charge > 200.0 or kappa_sigma > 15:
        return None
    p.update(dielectconst=eps, concentration_salt=salt, charge=charge)
    return p


def baxter(p: dict) -> dict | None:
    # Baxter's adhesive spheres have a Percus-Yevick solution only if the quadratic for
    # λ has a real root with μ <= 1 + 2η (sasmodels returns S = -1 otherwise).
    eta = p["volfraction"] / (1 - p["perturb"]) ** 3
    qa, qb = eta / 6, p["stickiness"] + eta / (1 - eta)
    qc = (1 + eta / 2) / (1 - eta) ** 2
    radic = qb * qb - 2 * qa * qc
    if eta >= 1 or radic < 0:
        return None
    lam = min(qb - math.sqrt(radic), qb + math.sqrt(radic)) / qa
    return p if lam * eta * (1 - eta) <= 1 + 2 * eta else None


__all__ = ["all_of", "baxter", "contrast", "derive", "ellipsoid_axes", "hayter_msa", "polymer_micelle",
           "require", "rpa", "shells", "unified_levels"]
