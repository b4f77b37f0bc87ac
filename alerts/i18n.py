"""The digest's own words in English and French.

Only the digest's words are translated; call titles, funders and reasons stay in the language
they were written in. Every key exists in both languages (a test checks it), so a missing
translation fails the suite rather than a recipient's mail.
"""

from __future__ import annotations

LANGS = ("en", "fr")

MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ),
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
        "septembre", "octobre", "novembre", "décembre",
    ),
}  # fmt: skip

MONTHS_SHORT = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": (
        "janv.", "févr.", "mars", "avr.", "mai", "juin",
        "juil.", "août", "sept.", "oct.", "nov.", "déc.",
    ),
}  # fmt: skip

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "brand": "fundradar",
        "title": "Funding calls: week {week_no}",
        "period": "{start} – {end}",
        "subject": "fundradar week {week_no} ({period}): {summary}",
        "subject_new_1": "1 new relevant call",
        "subject_new_n": "{n} new relevant calls",
        "subject_new_0": "no new relevant calls",
        "count_new": "new and relevant",
        "count_updated": "updated",
        "count_closing": "closing within {days} days",
        "count_reminders": "shortlist reminders",
        "quiet": (
            "A quiet week: no new relevant calls, no changes, nothing closing soon. "
            "The sources below were checked."
        ),
        "sec_new": "New and relevant",
        "sec_updated": "Updated",
        "sec_closing": "Closing within {days} days",
        "sec_reminders": "Shortlisted deadlines",
        "sec_health": "Source health",
        "band_high": "high",
        "band_medium": "medium",
        "band_low": "low",
        "band_none": "none",
        "relevance": "Relevance",
        "deadline": "Deadline",
        "no_deadline": "no deadline given",
        "days_left_0": "closes today",
        "days_left_1": "1 day left",
        "days_left_n": "{n} days left",
        "days_ago": "passed",
        "budget": "Budget",
        "why": "Why",
        "what_changed": "What changed",
        "reminder": "Reminder: {days} days or less before the deadline",
        "no_link": "(link withheld: not a web address)",
        "more": "…and {n} more, not shown.",
        "h_source": "Source",
        "h_calls": "Calls this week",
        "h_last_ok": "Last successful crawl",
        "h_problems": "Problems",
        "never": "never",
        "none": "none",
        "not_crawled": "not crawled this week",
        "stale": "no successful crawl for {days} days",
        "status_failed": "crawl failed",
        "status_empty": "found no calls",
        "status_degraded": "degraded",
        "status_running": "still running or interrupted",
        "footer": (
            "Sent by fundradar to {recipient}. Deadlines are in Saint Lucia time (AST). "
            "Relevance is a machine's estimate: check the funder's page before applying."
        ),
        "open_call": "Open the call",
    },
    "fr": {
        "brand": "fundradar",
        "title": "Appels à financement : semaine {week_no}",
        "period": "{start} – {end}",
        "subject": "fundradar semaine {week_no} ({period}) : {summary}",
        "subject_new_1": "1 nouvel appel pertinent",
        "subject_new_n": "{n} nouveaux appels pertinents",
        "subject_new_0": "aucun nouvel appel pertinent",
        "count_new": "nouveaux et pertinents",
        "count_updated": "mis à jour",
        "count_closing": "clôture sous {days} jours",
        "count_reminders": "rappels de la présélection",
        "quiet": (
            "Semaine calme : aucun nouvel appel pertinent, aucun changement, aucune clôture "
            "proche. Les sources ci-dessous ont été vérifiées."
        ),
        "sec_new": "Nouveaux et pertinents",
        "sec_updated": "Mis à jour",
        "sec_closing": "Clôture sous {days} jours",
        "sec_reminders": "Échéances de la présélection",
        "sec_health": "État des sources",
        "band_high": "élevée",
        "band_medium": "moyenne",
        "band_low": "faible",
        "band_none": "nulle",
        "relevance": "Pertinence",
        "deadline": "Date limite",
        "no_deadline": "pas de date limite indiquée",
        "days_left_0": "clôture aujourd'hui",
        "days_left_1": "1 jour restant",
        "days_left_n": "{n} jours restants",
        "days_ago": "dépassée",
        "budget": "Budget",
        "why": "Pourquoi",
        "what_changed": "Ce qui a changé",
        "reminder": "Rappel : {days} jours ou moins avant la date limite",
        "no_link": "(lien retenu : pas une adresse web)",
        "more": "…et {n} de plus, non affichés.",
        "h_source": "Source",
        "h_calls": "Appels cette semaine",
        "h_last_ok": "Dernière collecte réussie",
        "h_problems": "Problèmes",
        "never": "jamais",
        "none": "aucun",
        "not_crawled": "pas collectée cette semaine",
        "stale": "aucune collecte réussie depuis {days} jours",
        "status_failed": "échec de la collecte",
        "status_empty": "aucun appel trouvé",
        "status_degraded": "dégradée",
        "status_running": "en cours ou interrompue",
        "footer": (
            "Envoyé par fundradar à {recipient}. Les dates limites sont à l'heure de "
            "Sainte-Lucie (AST). La pertinence est une estimation automatique : vérifiez la "
            "page du bailleur avant de candidater."
        ),
        "open_call": "Ouvrir l'appel",
    },
}

# words used by alerts.changes
CHANGE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "deadline_moved": "deadline moved from {old} to {new}",
        "deadline_set": "deadline announced: {new}",
        "deadline_removed": "deadline no longer given (was {old})",
        "stage_added": "a further deadline added: {new}",
        "stage_removed": "deadline of {old} removed",
        "now_open": "now open",
        "now_forthcoming": "now announced as forthcoming",
        "closed_early": "closed early",
        "now_closed": "now closed",
        "reopened": "reopened",
        "status_changed": "status changed from {old} to {new}",
        "opens_moved": "opening date moved from {old} to {new}",
        "opens_set": "opening date announced: {new}",
        "opens_removed": "opening date no longer given",
        "budget_changed": "budget changed from {old} to {new}",
        "budget_set": "budget announced: {new}",
        "budget_removed": "budget no longer given (was {old})",
        "title_changed": "title changed (was “{old}”)",
        "other": "details changed on the funder's page",
    },
    "fr": {
        "deadline_moved": "date limite déplacée du {old} au {new}",
        "deadline_set": "date limite annoncée : {new}",
        "deadline_removed": "date limite plus indiquée (était le {old})",
        "stage_added": "nouvelle date limite ajoutée : {new}",
        "stage_removed": "date limite du {old} supprimée",
        "now_open": "désormais ouvert",
        "now_forthcoming": "désormais annoncé comme à venir",
        "closed_early": "clôturé de manière anticipée",
        "now_closed": "désormais clôturé",
        "reopened": "rouvert",
        "status_changed": "statut passé de {old} à {new}",
        "opens_moved": "date d'ouverture déplacée du {old} au {new}",
        "opens_set": "date d'ouverture annoncée : {new}",
        "opens_removed": "date d'ouverture plus indiquée",
        "budget_changed": "budget modifié : {old} → {new}",
        "budget_set": "budget annoncé : {new}",
        "budget_removed": "budget plus indiqué (était {old})",
        "title_changed": "titre modifié (était « {old} »)",
        "other": "détails modifiés sur la page du bailleur",
    },
}

STATUS_WORDS = {
    "en": {"open": "open", "closed": "closed", "forthcoming": "forthcoming"},
    "fr": {"open": "ouvert", "closed": "clôturé", "forthcoming": "à venir"},
}


def t(lang: str, key: str, **kwargs: object) -> str:
    """The digest word `key` in `lang` (English when the language is unknown)."""
    table = STRINGS.get(lang) or STRINGS["en"]
    text = table[key]
    return text.format(**kwargs) if kwargs else text


def day_month(day: int, month: int, year: int | None, lang: str) -> str:
    """'31 March' / '31 mars', with the year when given ('31 March 2027')."""
    months = MONTHS.get(lang) or MONTHS["en"]
    text = f"{day} {months[month - 1]}"
    return f"{text} {year}" if year is not None else text
