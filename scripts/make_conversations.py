"""Writes deterministic synthetic conversations as JSONL: the bundled example
data (examples/conversations.jsonl) and the `talon prepare` benchmark corpus.
Tasks are simple and regular (arithmetic, counting, spelling, lists, code),
so a tiny draft can learn them; shapes alternate between ShareGPT and
OpenAI, some with a system message, some multi-turn.
  .venv/bin/python scripts/make_conversations.py --count 300 --seed 1 > examples/conversations.jsonl

For a given count and seed the output is byte for byte what the former Node
generator wrote: the random draws happen in the same order (see
lib/random.py), so do not reorder calls that draw.
"""
import argparse
import sys

from lib.jsonl import to_json  # scripts/lib: this script's directory is on sys.path
from lib.random import random

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words(n):
    """n (0 <= n < 1,000,000) in English words: 342 is "three hundred and forty-two"."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (f"-{ONES[n % 10]}" if n % 10 else "")
    if n < 1000:
        return ONES[n // 100] + " hundred" + (f" and {words(n % 100)}" if n % 100 else "")
    return words(n // 1000) + " thousand" + (f" {words(n % 1000)}" if n % 1000 else "")


ANIMALS = ["cat", "dog", "horse", "rabbit", "owl", "fox", "otter", "whale", "eagle", "falcon", "tiger", "zebra"]
COLORS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white", "silver", "gold"]
FRUITS = ["apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "pear", "plum", "kiwi"]
FUNCTIONS = {
    "Python": "def add(a, b):\n    return a + b",
    "C++": "int add(int a, int b) {\n  return a + b;\n}",
    "JavaScript": "function add(a, b) {\n  return a + b;\n}",
    "Rust": "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}",
    "Go": "func add(a, b int) int {\n\treturn a + b\n}",
}
LANGUAGES = list(FUNCTIONS)


def with_article(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


# Each task draws its parameters and returns (question, answer).

def addition(rand):
    a = rand.between(2, 999)
    b = rand.between(2, 999)
    return f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}. In words, that is {words(a + b)}."


def multiplication(rand):
    a = rand.between(2, 40)
    b = rand.between(2, 25)
    return f"Multiply {a} by {b}.", f"{a} times {b} equals {a * b}. To check: {a * b} divided by {b} is {a}."


def counting(rand):
    n = rand.between(3, 12)
    numbers = ", ".join(str(i) for i in range(1, n + 1))
    return f"Count from one to {words(n)}.", f"Here you go: {numbers}."


def spelling(rand):
    w = rand.pick(ANIMALS + FRUITS)
    return (f'How do you spell "{w}" letter by letter?',
            f'"{w}" is spelled {"-".join(w).upper()}. It has {words(len(w))} letters.')


def colors(rand):
    k = rand.between(2, 5)
    chosen = []
    while len(chosen) < k:  # draw until k different colors
        c = rand.pick(COLORS)
        if c not in chosen:
            chosen.append(c)
    listing = "\n".join(f"{i}. {c[0].upper() + c[1:]}" for i, c in enumerate(chosen, 1))
    return f"Name {words(k)} colors.", f"Sure. Here are {words(k)} colors:\n{listing}"


def sentence(rand):
    animal = rand.pick(ANIMALS)
    color = rand.pick(COLORS)
    fruit = rand.pick(FRUITS)
    return (f"Write one sentence about {with_article(color)} {animal}.",
            f"The {color} {animal} sat quietly under the tree and ate {with_article(fruit)}.")


def code(rand):
    lang = rand.pick(LANGUAGES)
    return (f"Write a {lang} function that adds two numbers.",
            f"Here is a {lang} function that adds two numbers:\n\n```\n{FUNCTIONS[lang]}\n```\n\n"
            "It returns the sum of its two arguments.")


def number_in_words(rand):
    n = rand.between(1, 999)
    return f"Write the number {n} in words.", f'{n} in words is "{words(n)}".'


TASKS = [addition, multiplication, counting, spelling, colors, sentence, code, number_in_words]

# (follow-up question, answer made from the previous answer)
FOLLOWUPS = [
    ("Thanks! Can you say that again, shorter?", lambda prev: prev.split(".")[0] + "."),
    ("Now repeat it in capital letters.", lambda prev: prev.upper()),
]

SYSTEMS = ["You are a helpful assistant.", "You are a concise assistant. Answer briefly."]
SHAREGPT_FROM = {"user": "human", "assistant": "gpt", "system": "system"}


def conversation(i, rand):
    """Record i: a task, sometimes a follow-up turn and a system message;
    ShareGPT for even i, OpenAI messages for odd i."""
    question, answer = rand.pick(TASKS)(rand)
    turns = [("user", question), ("assistant", answer)]
    if rand() < 0.3:
        followup, reply = rand.pick(FOLLOWUPS)
        turns += [("user", followup), ("assistant", reply(answer))]
    system = rand.pick(SYSTEMS) if rand() < 0.2 else None
    if system:
        turns.insert(0, ("system", system))
    if i % 2 == 0:
        return {"id": f"ex-{i}",
                "conversations": [{"from": SHAREGPT_FROM[role], "value": text} for role, text in turns]}
    return {"id": f"ex-{i}", "messages": [{"role": role, "content": text} for role, text in turns]}


def main():
    parser = argparse.ArgumentParser(description="Writes synthetic conversations as JSONL to stdout.")
    parser.add_argument("--count", type=int, default=300, help="number of conversations (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="PRNG seed, taken modulo 2**32 (default 1)")
    args = parser.parse_args()

    rand = random(args.seed)
    out = sys.stdout.buffer
    for i in range(args.count):
        out.write((to_json(conversation(i, rand)) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
