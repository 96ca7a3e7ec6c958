"""Plain words for what a ledger leaf says and for what checking a receipt found.

A leaf carries codes only (docs/ledger.md): the receipt pages turn each code into a sentence a
person understands, in Chinese or English (the strings are msgids; the pages translate them).
Rules as data: a new event type needs one row here, and an unknown code is shown as itself.
"""

from __future__ import annotations

from tongban.platform.web.rendering import N_

# Event type (the leaf's `action`) -> what happened, as a sentence.
ACTIONS: dict[str, str] = {
    "case.submitted": N_("An application was received"),
    "case.accept": N_("The application was accepted for handling"),
    "case.refuse": N_("The application was not accepted"),
    "case.request-supplement": N_("Missing papers were asked for"),
    "case.supplement": N_("Missing papers were handed in"),
    "case.review-supplement": N_("The papers handed in were checked"),
    "case.start-special": N_("A special procedure began (the clock stops meanwhile)"),
    "case.end-special": N_("The special procedure ended"),
    "case.co-handle": N_("A co-handling department did its part"),
    "case.approve": N_("The application was approved"),
    "case.reject": N_("The application was refused"),
    "case.complete": N_("The case was completed"),
    "case.withdraw": N_("The application was withdrawn"),
    "case.material_viewed": N_("An official opened a paper of the case"),
    "case.applicant_id_viewed": N_("An official looked at the applicant's full ID number"),
    "case.result_viewed": N_("The decision document was opened"),
    "case.applicant_linked": N_("The case was linked to the applicant's account"),
    "case.payout_confirmed": N_("The payment was confirmed"),
    "case.bundle_settled": N_("Every part of a combined application was finished"),
    "review.created": N_("A rating was given"),
    "review.rerated": N_("A rating was changed"),
    "review.rectified": N_("A bad rating was followed up and fixed"),
    "rectification.opened": N_("A task to fix the cause of a bad rating was opened"),
    "rectification.followed_up": N_("The task to fix a bad rating was followed up"),
    "rectification.fixed": N_("The cause of a bad rating was fixed"),
    "rectification.appealed": N_("An appeal against a rating was filed"),
    "rectification.appeal_decided": N_("An appeal against a rating was decided"),
    "rectification.closed": N_("A task to fix a bad rating was closed"),
    "help.requested": N_("A call-back was asked for"),
    "help.answered": N_("A call-back request was answered"),
    "proxy.granted": N_("A family authorisation was given"),
    "proxy.confirmed": N_("A family authorisation was accepted"),
    "proxy.declined": N_("A family authorisation was declined"),
    "proxy.revoked": N_("A family authorisation was withdrawn"),
    "token.issued": N_("An access key for a connected system was issued"),
    "token.revoked": N_("An access key for a connected system was withdrawn"),
    "auth.login": N_("Someone logged in"),
    "auth.logout": N_("Someone logged out"),
    "auth.login_failed": N_("A login attempt failed"),
    "auth.login_locked": N_("Logins were paused after failed attempts"),
    "auth.session_revoked": N_("A login session was ended"),
    "auth.password_reset_refused": N_("A password reset was refused"),
    "auth.password_reset_failed": N_("A password reset failed"),
    "account.registered": N_("An account was opened"),
    "account.preferences_changed": N_("An account's settings were changed"),
    "account.password_reset": N_("A password was reset"),
    "account.password_changed": N_("A password was changed"),
    "account.identity_verified": N_("A person's identity was confirmed"),
    "account.identity_verification_failed": N_("A check of a person's identity failed"),
    "department.created": N_("A department was added"),
    "region.added": N_("A region was added"),
    "region.urban_rural_set": N_("A region's urban or rural class was set"),
    "regions.loaded": N_("The list of regions was loaded"),
    "catalog.imported": N_("The list of services was updated"),
    "calendar.day_set": N_("A day of the official calendar was set"),
}
UNKNOWN_ACTION = N_("A step recorded by the platform")

# The leaf's `resource_type` -> what the step happened to.
RESOURCES: dict[str, str] = {
    "case": N_("Case number"),
    "review": N_("Rating number"),
    "rectification": N_("Rectification task number"),
    "help": N_("Call-back request number"),
    "region": N_("Region code"),
    "department": N_("Department number"),
    "proxy": N_("Authorisation number"),
    "token": N_("Access key number"),
    "login": N_("Login attempt number"),
    "account": N_("A person's account"),
}
UNKNOWN_RESOURCE = N_("Concerns")
# The leaf leaves a person's account id out (`resource_id` null): say so instead of a blank.
PERSON_HIDDEN = N_("Not in the ledger: it would identify a person")

# The leaf's `actor_role` -> who acted, by role only.
ROLES: dict[str, str] = {
    "citizen": N_("An applicant or a family member"),
    "clerk": N_("A clerk at a service point"),
    "official": N_("An official of the competent department"),
    "steward": N_("A data steward"),
    "admin": N_("An administrator"),
}
NO_ROLE = N_("The platform itself")

# The leaf's `channel` -> how the step reached the platform.
CHANNELS: dict[str, str] = {
    "online": N_("Online"),
    "assisted": N_("At a service point, with a clerk"),
    "proxy": N_("By an authorised family member"),
    "api": N_("Through a connected system"),
    "cli": N_("By an operator's command"),
    "system": N_("By the platform itself"),
}

# The checks, in the order they are made (explain.STEPS).
STEPS: dict[str, str] = {
    "read": N_("The receipt can be read"),
    "signature": N_("The checkpoint is signed with this node's key"),
    "inclusion": N_("The step is in the signed ledger (inclusion proof)"),
    "entry": N_("The step shown is the step proven"),
    "witnesses": N_("The witnesses' cosignatures are genuine"),
    "consistency": N_("The checkpoint agrees with this node's ledger today"),
}
STEP_STATES: dict[str, str] = {
    "passed": N_("Passed"),
    "failed": N_("Failed"),
    "unchecked": N_("Not checked"),
}

# A failure's code -> (what failed, what it means for the reader).
FAILURES: dict[str, tuple[str, str]] = {
    "empty": (
        N_("Nothing to check"),
        N_("Choose the receipt file, or paste its text."),
    ),
    "too_large": (
        N_("The file is too large to be a receipt"),
        N_("A ledger receipt is a few kilobytes. Choose the receipt file you downloaded."),
    ),
    "pdf": (
        N_("This is a PDF, not a ledger receipt"),
        N_(
            "The PDF from the counter is the receipt of your application. The ledger receipt is "
            "a small JSON file: open a step of your case, choose 'Proof in the ledger' and "
            "download it there."
        ),
    ),
    "not_receipt": (
        N_("This is not a ledger receipt"),
        N_(
            "The file or text is neither a receipt's JSON nor its proof text. Download the "
            "receipt again from the step's proof page."
        ),
    ),
    "malformed": (
        N_("The receipt is damaged"),
        N_(
            "Some of its parts cannot be read: a line was cut off or changed. Download the "
            "receipt again."
        ),
    ),
    "no_entry": (
        N_("The receipt does not carry its step"),
        N_(
            "It was issued for a step recorded before the ledger stopped publishing personal "
            "data; the step is withheld and can only be checked together with its record."
        ),
    ),
    "entry_mismatch": (
        N_("The step given is not the step in the receipt"),
        N_("The record checked with the receipt is not the one the receipt was issued for."),
    ),
    "signature": (
        N_("The signature is not valid"),
        N_(
            "The checkpoint was changed after this node signed it, or its signature was "
            "altered. Do not rely on this receipt."
        ),
    ),
    "unknown_key": (
        N_("Signed with an unknown key"),
        N_(
            "The checkpoint is not signed with this node's key. The receipt comes from another "
            "node, or it is forged."
        ),
    ),
    "other_log": (
        N_("The receipt belongs to another ledger"),
        N_(
            "The checkpoint names a different ledger than this node's. Check it at the node "
            "that issued it."
        ),
    ),
    "inclusion": (
        N_("The inclusion proof does not match"),
        N_(
            "Hashing the step and walking the proof does not lead to the root hash the "
            "checkpoint signs: the step or the proof was changed."
        ),
    ),
    "entry": (
        N_("The step's record cannot be read"),
        N_("The record in the receipt is not a readable step."),
    ),
    "copy_mismatch": (
        N_("The readable copy of the step was changed"),
        N_(
            "What the receipt file shows differs from the step its proof carries: someone "
            "edited the file. Trust only the proven step."
        ),
    ),
    "witness_signature": (
        N_("A witness's cosignature is not valid"),
        N_(
            "A cosignature by a known witness does not verify: the checkpoint or the "
            "cosignature was changed."
        ),
    ),
    "ahead": (
        N_("This node never issued this checkpoint"),
        N_(
            "The checkpoint claims more steps than this node's ledger holds. It may be forged "
            "with a stolen key: report it to the node's operator."
        ),
    ),
    "inconsistent": (
        N_("The checkpoint is not consistent with this node's ledger"),
        N_(
            "This node's ledger today does not extend the history this checkpoint signs: the "
            "ledger was forked or its key was misused. Report it to the node's operator."
        ),
    ),
}
