"""INTERREG Caraïbes — calls for expressions of interest (AMI) and continuous submission.

Source: https://www.interreg-caraibes.com (Drupal, FR and EN, V): the calls page in French
    (/appels-a-projets) and English (/en/calls-for-projects), and the news page (/actualites),
    where calls are also announced. Managing authority Région Guadeloupe; the OECS is a
    programme partner (V).
Caveats:
    - no listing markup or feed was ever seen (I): the Drupal views classes in config
      (`div.views-row`, field labels) are guesses; detail fields are read by their labels
      ("Date limite de dépôt", "Deadline", "Enveloppe", "Bénéficiaires éligibles");
    - news items are kept only when they name a call (options.keywords), so a news item and
      the call page may describe the same call (dedupe's job);
    - continuous submission ("au fil de l'eau") has no deadline, only a status.
Fixture: crawlers/samples/interreg_caraibes/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class InterregCaraibesSpider(HtmlListSpider):
    name = "interreg_caraibes"
