"""A synthetic news corpus for the Spark example's test and benchmark: always the same articles
for the same count (a seeded RNG), mixing the sentences of seeds/sample-article.txt with the
news-like sentences below (curly quotes, accents, emoji, sentences that fire each default topic
and some that fire none), some without a title key, some without a body key, some with an extra
key, a few with non-ASCII ids.

  python3 examples/spark/synthetic_corpus.py --articles 200000 -o /tmp/corpus.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


OWN_SENTENCES = [
    "Diplomats from both capitals met in Genève for a second round of “technical talks” on Monday.",
    "The ambassador said the sanctions would stay in place until prisoners were released 🕊️.",
    "Troops shelled the outskirts of Ostin overnight, killing at least four civilians.",
    "An airstrike hit a fuel depot near Maro; the defence ministry called it “a precise operation”.",
    "The UN Security Council will vote on the draft resolution on Thursday.",
    "Aid agencies said 40,000 people had fled to camps where water and food are running out 😟.",
    "The World Food Programme’s convoy of 30 trucks crossed the border at dawn.",
    "A magnitude 6.8 earthquake struck the coast, leaving hundreds homeless and 12 dead.",
    "Flooding forced the evacuation of 8,000 residents from riverside districts of São Paulo.",
    "Red Cross teams reached the villages cut off by landslides, bringing tents and medicine.",
    "The foreign minister flew to Ankara to discuss the grain corridor with her Turkish counterpart.",
    "Insurgents ambushed a patrol on the road to Kandahar, the army said.",
    "Négociations de paix: the envoy praised “a constructive atmosphere” after the summit.",
    "Donors pledged €120 million for reconstruction at a conference in Brussels 💶.",
    "The president signed a trade pact with Japan during a state visit to Tokyo.",
    "Militants fired rockets at the airport; no one was hurt, officials said.",
    "A cholera outbreak has killed 57 people in the camp, according to the health ministry.",
    "Peacekeepers escorted the humanitarian convoy through the buffer zone.",
    "The central bank raised interest rates by half a point to curb inflation.",
    "The local football club celebrated its first title in 20 years 🏆⚽.",
    "Zoë Ångström, a nurse with Médecins Sans Frontières, described the clinic as overwhelmed.",
    "NATO allies agreed to send more air-defence systems, a spokesman for the alliance said.",
    "Ceasefire violations were reported along the front line for the third day running.",
    "Refugees queued for hours in the heat to register for food rations.",
    "The two countries restored diplomatic relations and will reopen their embassies next month.",
    "A suicide bomber killed 9 people at a checkpoint outside the capital, police said.",
    "The drought has left 2 million people facing hunger, the UN’s relief agency warned.",
    "Mediators from Qatar and Egypt are brokering talks on a prisoner exchange 🤝.",
    "Security guards at the mall were praised for their quick response to the fire alarm.",
    "Social security payments will rise by 3% next year, the finance ministry said.",
    "“We will not negotiate under fire,” the prime minister told parliament.",
    "Rescue workers pulled survivors from the rubble of a collapsed apartment block in İzmir.",
    "The embassy urged its citizens to leave the country while commercial flights still operate.",
    "Arms deliveries to the rebels must stop, the envoy told the General Assembly.",
    "Tropical storm Ána brought heavy rain to the islands, damaging 1,200 homes 🌀.",
    "The summit ended without a joint statement, Kyiv and Warsaw officials said.",
    "A tech company announced record profits and a new smartphone.",
    "Hospitals in the north are short of fuel, medicines and clean water, UNICEF said.",
]

TITLES = [
    "Truce extended as aid convoys reach border towns",
    "Envoys meet in Genève",
    "Airstrike kills 12 near Maro",
    "Earthquake leaves thousands homeless",
    "Sanctions lifted after talks",
    "Ministers sign trade pact 🤝",
    "Cholera spreads in crowded camps",
    "Football: Veloria win the cup 🏆",
    "Rebels shell Ostin as ceasefire falters",
    "Donors pledge €85 million for shelter",
    "“Talks are over”, says Karsh’s foreign minister",
    "Floods in São Paulo: 8,000 evacuated",
]


def seed_sentences() -> list[str]:
    text = (REPO / "seeds" / "sample-article.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    sentences = []
    for paragraph in paragraphs[1:]:  # the first is the title
        # A sentence ends at . or ” before a capital or an opening quote ("U.S. and" stays).
        parts = re.split(r"(?<=[.”])\s+(?=[A-Z“])", paragraph)
        sentences.extend(s.strip() for s in parts if s.strip())
    return sentences


def generate(n: int) -> list[dict]:
    """n articles, always the same ones (seeded): some without a title key, some without a body
    key, some with an empty title, an extra key now and then, and non-ASCII ids."""
    rng = random.Random(17)
    sentences = seed_sentences() + OWN_SENTENCES
    articles = []
    for i in range(n):
        article = {"id": f"gen-{i:05d}" + ("-é🙂" if i % 97 == 0 else "")}
        roll = rng.random()
        body = ("\n\n" if rng.random() < 0.3 else " ").join(
            rng.choice(sentences) for _ in range(rng.randint(1, 7))
        )
        if roll < 0.65:
            article["title"] = rng.choice(TITLES)
            article["body"] = body
        elif roll < 0.75:
            article["body"] = body  # no title key
        elif roll < 0.85:
            article["title"] = ""
            article["body"] = body
        elif roll < 0.92:
            article["title"] = rng.choice(TITLES + sentences)  # no body key
        else:
            article["title"] = rng.choice(TITLES)
            article["body"] = body
            article["url"] = f"https://example.org/{i}"  # read past by both
        articles.append(article)
    return articles


def write_jsonl(path: Path, articles: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for a in articles:
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("-o", "--output", required=True, help="JSON Lines file to write")
    args = parser.parse_args(argv)
    write_jsonl(Path(args.output), generate(args.articles))


if __name__ == "__main__":
    main()
