"""Two replicas of a shopping cart diverge during a partition and converge after it.

Run: ``python examples/two_replicas.py``
"""

from crdts import Cart, decode, encode

phone = Cart(replica="phone")
laptop = phone.copy(replica="laptop")

# Both see the same book, then lose touch.
laptop.merge(decode(encode(phone.add("book", 2))))

# During the partition the laptop deletes the book while the phone adds a pen.
to_phone = [encode(laptop.remove("book"))]
to_laptop = [encode(phone.add("pen"))]
print("during the partition: phone", phone.quantities, "| laptop", laptop.quantities)

# The partition heals: each side merges the other's deltas, shipped as bytes.
for message in to_phone:
    phone.merge(decode(message))
for message in to_laptop:
    laptop.merge(decode(message))
print("after the heal:       phone", phone.quantities, "| laptop", laptop.quantities)
assert phone == laptop and phone.quantities == {"pen": 1}
print("converged: the deleted book stays deleted, the concurrent pen is kept")
