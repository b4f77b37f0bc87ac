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
        "count_reminders_1": "shortlist reminder",
        "quiet": (
            "A quiet week: no new relevant calls, no changes, nothing closing soon, "
            "and every source was checked."
        ),
        "sec_new": "New and relevant",
        "sec_updated": "Updated",
        "sec_closing": "Closing within {days} days",
        "sec_reminders": "Shortlist reminders",
        "sec_applications": "Our applications: internal deadlines",
        "internal_due": "internal deadline",
        "overdue_1": "1 day overdue",
        "overdue_n": "{n} days overdue",
        "owner": "owner",
        "stage_idea": "idea",
        "stage_preparing": "preparing",
        "stage_submitted": "submitted",
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
        "no_funder_link": "(funder's link withheld: not a web address)",
        "more": "…and {n} more, not shown.",
        "never": "never",
        "footer": (
            "Sent by fundradar to {recipient}. Deadlines are in Saint Lucia time (AST). "
            "Relevance is a machine's estimate: check the funder's page before applying."
        ),
        "open_call": "Open the call",
        "shortlisted": "shortlisted",
        "changed": "Changed",
        "mark": "Mark it",
        "mark_relevant": "Relevant",
        "mark_not-relevant": "Not relevant",
        "mark_shortlist": "Shortlist",
        "funder_page": "Funder's page",
        "unsubscribe": "Unsubscribe",
        "manage": "Change what you receive",
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
        "count_reminders_1": "rappel de la présélection",
        "quiet": (
            "Semaine calme : aucun nouvel appel pertinent, aucun changement, aucune clôture "
            "proche, et toutes les sources ont été vérifiées."
        ),
        "sec_new": "Nouveaux et pertinents",
        "sec_updated": "Mis à jour",
        "sec_closing": "Clôture sous {days} jours",
        "sec_reminders": "Rappels de la présélection",
        "sec_applications": "Nos candidatures : échéances internes",
        "internal_due": "échéance interne",
        "overdue_1": "en retard d'1 jour",
        "overdue_n": "en retard de {n} jours",
        "owner": "responsable",
        "stage_idea": "idée",
        "stage_preparing": "en préparation",
        "stage_submitted": "soumise",
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
        "no_funder_link": "(lien du bailleur retenu : pas une adresse web)",
        "more": "…et {n} de plus, non affichés.",
        "never": "jamais",
        "footer": (
            "Envoyé par fundradar à {recipient}. Les dates limites sont à l'heure de "
            "Sainte-Lucie (AST). La pertinence est une estimation automatique : vérifiez la "
            "page du bailleur avant de candidater."
        ),
        "open_call": "Ouvrir l'appel",
        "shortlisted": "présélectionné",
        "changed": "Modifié",
        "mark": "Classer",
        "mark_relevant": "Pertinent",
        "mark_not-relevant": "Non pertinent",
        "mark_shortlist": "Présélectionner",
        "funder_page": "Page du bailleur",
        "unsubscribe": "Se désabonner",
        "manage": "Modifier ce que vous recevez",
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


# Source health and sample data: what the first lines of a digest say when the week was not a
# normal one. Kept apart from STRINGS and merged into it below, so each concern reads as one
# block; a test still checks every key exists in both languages.
HEALTH_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "sample_head": "SAMPLE DATA:",
        "sample_rest": (
            "these are sample calls from the pages bundled with fundradar "
            "(demo or crawl --fixtures), not real funders' calls. Do not act on them."
        ),
        "subject_trouble": "fundradar week {week_no}: {trouble} — {summary}",
        "subject_trouble_nothing": "nothing new from the other {n}",
        "subject_trouble_nothing_all": "nothing new",
        "subject_outage": "fundradar week {week_no}: could not reach any funder this week",
        "subject_outage_checked": "fundradar week {week_no}: could not check any funder this week",
        "trouble_1": "1 of {total} sources could not be checked",
        "trouble_n": "{n} of {total} sources could not be checked",
        "trouble_head": "{trouble} this week",
        "trouble_rest": "({causes}). Calls from them may be missing.",
        "not_quiet": "Nothing new from the {n} sources that were checked.",
        "not_quiet_none": "Nothing new, and no source could be checked.",
        "outage_title": "fundradar could not reach any funder this week",
        "outage_title_checked": "fundradar could not check any funder this week",
        "outage_lead": (
            "None of the {total} sources gave any calls this week, so there is no digest: "
            "this does not mean there were no new calls."
        ),
        "outage_causes": "What happened, source by source:",
        "outage_check": "What to check",
        "outage_check_1": (
            "Can the server that runs fundradar reach the internet? "
            "`fundradar sources check --live` tries every funder's site and says what it got."
        ),
        "outage_check_2": (
            "The crawl logs: the logs folder in fundradar's data folder (FUNDRADAR_HOME)."
        ),
        "outage_check_3": (
            "Once fixed: `fundradar crawl`, then `fundradar digest send --force` sends this "
            "week's digest again with what was found. Otherwise the calls come in next "
            "week's digest: nothing is lost."
        ),
        "health_all_ok": "All {n} sources checked.",
        "health_all_ok_1": "The only source was checked.",
        "health_no_sources": "No source is configured.",
        "health_trouble_head": "{trouble}:",
        "health_others_ok": "The other {n} sources were checked.",
        "health_others_ok_1": "The other source was checked.",
        "health_since": "since {when}",
        "health_last_ok": "last successful check: {when}",
        "health_detail": "details",
        "verdict_ok": "checked",
        "verdict_unreachable": "unreachable",
        "verdict_http-error": "site error",
        "verdict_blocked": "blocked",
        "verdict_empty": "no calls found",
        "verdict_degraded": "incomplete",
        "verdict_failed": "crawl failed",
        "verdict_running": "crawl interrupted",
        "verdict_none": "not checked",
        "verdict_other": "problem",
    },
    "fr": {
        "sample_head": "DONNÉES D'EXEMPLE :",
        "sample_rest": (
            "ces appels viennent des pages fournies avec fundradar "
            "(démo ou crawl --fixtures), pas de vrais bailleurs. N'y donnez pas suite."
        ),
        "subject_trouble": "fundradar semaine {week_no} : {trouble} — {summary}",
        "subject_trouble_nothing": "rien de nouveau des {n} autres",
        "subject_trouble_nothing_all": "rien de nouveau",
        "subject_outage": (
            "fundradar semaine {week_no} : aucun bailleur n'a pu être joint cette semaine"
        ),
        "subject_outage_checked": (
            "fundradar semaine {week_no} : aucun bailleur n'a pu être vérifié cette semaine"
        ),
        "trouble_1": "1 source sur {total} n'a pas pu être vérifiée",
        "trouble_n": "{n} sources sur {total} n'ont pas pu être vérifiées",
        "trouble_head": "{trouble} cette semaine",
        "trouble_rest": "({causes}). Des appels de ces sources peuvent manquer.",
        "not_quiet": "Rien de nouveau des {n} sources vérifiées.",
        "not_quiet_none": "Rien de nouveau, et aucune source n'a pu être vérifiée.",
        "outage_title": "fundradar n'a pu joindre aucun bailleur cette semaine",
        "outage_title_checked": "fundradar n'a pu vérifier aucun bailleur cette semaine",
        "outage_lead": (
            "Aucune des {total} sources n'a donné d'appels cette semaine, il n'y a donc pas "
            "de synthèse : cela ne veut pas dire qu'il n'y a pas eu de nouveaux appels."
        ),
        "outage_causes": "Ce qui s'est passé, source par source :",
        "outage_check": "Que vérifier",
        "outage_check_1": (
            "Le serveur qui fait tourner fundradar accède-t-il à internet ? "
            "`fundradar sources check --live` essaie le site de chaque bailleur et dit ce "
            "qu'il a obtenu."
        ),
        "outage_check_2": (
            "Les journaux de collecte : le dossier logs du dossier de données de fundradar "
            "(FUNDRADAR_HOME)."
        ),
        "outage_check_3": (
            "Une fois réparé : `fundradar crawl`, puis `fundradar digest send --force` renvoie "
            "la synthèse de la semaine avec ce qui a été trouvé. Sinon les appels arrivent "
            "dans la synthèse de la semaine prochaine : rien n'est perdu."
        ),
        "health_all_ok": "Les {n} sources ont été vérifiées.",
        "health_all_ok_1": "La seule source a été vérifiée.",
        "health_no_sources": "Aucune source n'est configurée.",
        "health_trouble_head": "{trouble} :",
        "health_others_ok": "Les {n} autres sources ont été vérifiées.",
        "health_others_ok_1": "L'autre source a été vérifiée.",
        "health_since": "depuis le {when}",
        "health_last_ok": "dernière vérification réussie : {when}",
        "health_detail": "détails",
        "verdict_ok": "vérifiée",
        "verdict_unreachable": "injoignable",
        "verdict_http-error": "erreur du site",
        "verdict_blocked": "bloquée",
        "verdict_empty": "aucun appel trouvé",
        "verdict_degraded": "incomplète",
        "verdict_failed": "échec de la collecte",
        "verdict_running": "collecte interrompue",
        "verdict_none": "non vérifiée",
        "verdict_other": "problème",
    },
}
for _lang in LANGS:
    STRINGS[_lang].update(HEALTH_STRINGS[_lang])

# The causes `health_sentence` writes (and the crawler stores, in English) in French. A cause
# not listed here is shown as written.
CAUSES_FR: dict[str, str] = {
    "site unreachable": "site injoignable",
    "no calls found, the site may have changed": "aucun appel trouvé, le site a peut-être changé",
    "blocked by robots.txt": "bloqué par robots.txt",
    "far fewer calls than usual": "beaucoup moins d'appels que d'habitude",
    "some details are missing from its calls": "des informations manquent dans ses appels",
    "the site answered with an error": "le site a répondu par une erreur",
    "the site refused access": "le site a refusé l'accès",
    "the crawl stopped with an error": "la collecte s'est arrêtée sur une erreur",
    "the crawl did not finish": "la collecte ne s'est pas terminée",
    "not checked since the last digest": "pas vérifiée depuis la dernière synthèse",
    "never checked": "jamais vérifiée",
}
CAUSE_ERROR = {"en": "error {code}", "fr": "erreur {code}"}


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
