"""Model FLOPs of a compiled step, counted from its XLA HLO (matrix products and convolutions).

XLA's `HloCostAnalysis` is not reachable from TensorFlow's Python API, so this reads
the HLO text that `tf.function(...).experimental_get_compiler_ir(...)(stage="hlo")`
returns (before backend rewrites, so the same on CPU and GPU) and counts what
dominates a network's arithmetic: `dot` (2 x output elements x contracted size) and
`convolution` (2 x output elements x kernel window x input features per group, divided
by the input dilation, whose inserted zeros are no work).
Element-wise ops, reductions and the optimizer's updates are left out: they are
memory-bound and a few percent of the count. A `while` loop (a scanned LSTM) counts
its body once per iteration; the trip count is read from the loop condition's
integer constants (TensorFlow's loops compare the counter with the length); a
gradient loop, bounded by a recorded count instead, is taken to run as long as
the longest constant-bounded loop (its forward loop).

Example:
    step = tf.function(train_step, jit_compile=True)
    flops = step_flops(step, batch, seed)["flops"]
"""

import collections
import re

_COMPUTATION = re.compile(r"^(ENTRY )?%?([\w.\-]+) \((.*)\) -> .* \{$")
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = (.+?) (\w[\w\-]*)\((.*)$")
_ARRAY = re.compile(r"\b[a-z]+\d*\[([\d,]*)\]")
_OPERAND = re.compile(r"([a-z]+\d*\[[\d,]*\])(?:\{[^}]*\})? %")
_CALLEES = re.compile(r"\b(calls|to_apply|body|condition|true_computation|false_computation)=%([\w.\-]+)")
_BRANCHES = re.compile(r"branch_computations=\{([^}]*)\}")
_INTEGER_CONSTANT = re.compile(r"= s(?:32|64)\[\] constant\((\d+)\)")


def _dims(shape):
    match = _ARRAY.search(shape)
    return [int(d) for d in match.group(1).split(",") if d] if match else []


def _product(values):
    result = 1
    for value in values:
        result *= value
    return result


def _attribute(text, name):
    match = re.search(name + r"=\{([\d,]*)\}", text)
    return [int(d) for d in match.group(1).split(",") if d] if match else []


def _instruction_flops(op, shape, rest):
    operands = [_dims(s) for s in _OPERAND.findall(rest)]
    if op == "dot" and operands:
        contracted = _product(operands[0][i] for i in _attribute(rest, "lhs_contracting_dims"))
        return 2 * _product(_dims(shape)) * contracted
    if op == "convolution" and len(operands) >= 2:
        labels = re.search(r"dim_labels=\w+_(\w+)->", rest)
        kernel = operands[1]
        output_features = kernel[labels.group(1).index("o")] if labels else kernel[-1]
        # An input dilated by inserted zeros (transposed convolutions, gradients of strided ones)
        # multiplies a window by those zeros too; only one in prod(lhs_dilate) products is real.
        dilation = re.search(r"lhs_dilate=([\dx]+)", rest)
        zeros = _product(int(d) for d in dilation.group(1).split("x")) if dilation else 1
        return 2 * _product(_dims(shape)) * _product(kernel) // max(output_features, 1) // zeros
    return 0


def parse(hlo_text):
    """{computation: {"flops": direct FLOPs, "calls": [(kind, callee)], "constants": [...]}}, entry name."""
    computations, entry, current = {}, None, None
    for line in hlo_text.splitlines():
        header = _COMPUTATION.match(line)
        if header:
            current = {"flops": 0, "calls": [], "constants": [], "by_op_type": collections.Counter()}
            computations[header.group(2)] = current
            if header.group(1):
                entry = header.group(2)
            continue
        if current is None:
            continue
        instruction = _INSTRUCTION.match(line)
        if not instruction:
            continue
        _, shape, op, rest = instruction.groups()
        flops = _instruction_flops(op, shape, rest)
        current["flops"] += flops
        if flops:
            kind = re.search(r'op_type="(\w+)"', rest)
            current["by_op_type"][kind.group(1) if kind else op] += flops
        callees = dict((kind, callee) for kind, callee in _CALLEES.findall(rest))
        if op == "while":
            current["calls"].append(("while", callees.pop("body", ""), callees.pop("condition", "")))
        current["calls"] += [(kind, callee, None) for kind, callee in callees.items()]
        for branches in _BRANCHES.findall(rest):
            current["calls"] += [("branch", name.strip().lstrip("%"), None) for name in branches.split(",")]
        current["constants"] += [int(c) for c in _INTEGER_CONSTANT.findall(line)]
    return computations, entry


def _reachable_constants(computations, name, seen=None):
    seen = set() if seen is None else seen
    if name in seen or name not in computations:
        return []
    seen.add(name)
    found = list(computations[name]["constants"])
    for _, callee, _ in computations[name]["calls"]:
        found += _reachable_constants(computations, callee, seen)
    return found


def count(hlo_text):
    """{"flops": total, "by_op_type": {TensorFlow op: FLOPs}, "loops": [(body, trip count)]} of an HLO module."""
    computations, entry = parse(hlo_text)
    loops, memo = [], {}
    known = {condition: max(_reachable_constants(computations, condition), default=0)
             for node in computations.values() for kind, _, condition in node["calls"] if kind == "while"}
    # A gradient loop compares its counter with the forward loop's recorded count, not a constant;
    # it runs as many times as the forward loop, taken as the longest loop with a constant bound.
    fallback = max(known.values(), default=0) or 1

    def total(name):
        """FLOPs of one run of computation `name`, by op type (callees and loop iterations included)."""
        if name in memo:
            return memo[name]
        node = computations.get(name, {"by_op_type": collections.Counter(), "calls": []})
        result = collections.Counter(node["by_op_type"])
        calls = node["calls"]
        branches = [total(callee) for kind, callee, _ in calls
                    if kind in ("branch", "true_computation", "false_computation")]
        if branches:  # a conditional runs one branch: count the costliest
            result.update(max(branches, key=lambda c: sum(c.values())))
        for kind, callee, condition in calls:
            if kind == "while":
                trips = known.get(condition) or fallback
                loops.append((callee, trips))
                result.update({op: trips * flops for op, flops in total(callee).items()})
            elif kind in ("calls", "to_apply"):
                result.update(total(callee))
        memo[name] = result
        return result

    by_op_type = total(entry)
    return {"flops": sum(by_op_type.values()), "by_op_type": dict(by_op_type.most_common()), "loops": loops}


def step_flops(function, *args):
    """FLOPs of one call of a `tf.function` on `args` (traced for XLA, not run)."""
    hlo_text = function.experimental_get_compiler_ir(*args)(stage="hlo")
    return count(hlo_text)
