// Memory scopes: tidy() frees what it does not return, nested scopes hand results up, keep()
// exempts, errors and async functions are handled, disposed tensors fail loudly.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.ts";
import { tidy, keep, dispose, tensor, TorchError, type Tensor } from "../../src/torch/index.ts";

describe("tidy", () => {
  test("disposes intermediates and keeps the returned tensor", () => {
    let a!: Tensor, b!: Tensor;
    const out = tidy(() => {
      a = T.ones([2]);
      b = a.mul(2);
      return b.add(1);
    });
    assert.equal(a.isDisposed, true);
    assert.equal(b.isDisposed, true);
    assert.equal(out.isDisposed, false);
    assert.deepEqual(out.toArray(), [3, 3]);
    assert.equal(out.scope, null, "a top-level tidy hands its result to no scope (caller owns it)");
    out.dispose();
  });

  test("keeps tensors nested in arrays, objects, Maps and Sets", () => {
    let scratch!: Tensor;
    const out = tidy(() => {
      scratch = T.zeros([1]);
      return {
        list: [T.ones([1]), [T.ones([2])]],
        nested: { deep: { t: T.ones([3]) } },
        map: new Map([["m", T.ones([4])]]),
        set: new Set([T.ones([5])]),
        number: 3,
      };
    });
    assert.equal(scratch.isDisposed, true);
    const all = [out.list[0] as Tensor, (out.list[1] as Tensor[])[0]!, out.nested.deep.t, out.map.get("m")!, [...out.set][0]!];
    assert.deepEqual(all.map((t) => t.numel), [1, 2, 3, 4, 5]);
    assert.ok(all.every((t) => !t.isDisposed));
    dispose(out);
    assert.ok(all.every((t) => t.isDisposed), "dispose() walks the same structures");
  });

  test("nested tidy moves returned tensors to the parent scope", () => {
    let inner!: Tensor, innerScratch!: Tensor, survivor!: Tensor;
    const out = tidy(() => {
      inner = tidy(() => {
        innerScratch = T.ones([2]);
        return innerScratch.mul(3);
      });
      assert.equal(innerScratch.isDisposed, true, "freed when the inner scope closes");
      assert.equal(inner.isDisposed, false, "the inner result survives its scope...");
      survivor = inner.add(1);
      return survivor;
    });
    assert.equal(inner.isDisposed, true, "...and is freed by the outer scope it moved to");
    assert.equal(out, survivor);
    assert.deepEqual(out.toArray(), [4, 4]);
    out.dispose();
  });

  test("a returned tensor created outside the scope is left alone", () => {
    const outside = T.ones([2]);
    const out = tidy(() => {
      T.zeros([1]);
      return outside;
    });
    assert.equal(out, outside);
    assert.equal(outside.isDisposed, false);
    outside.dispose();
  });

  test("keep() exempts a tensor (or a structure) from every scope", () => {
    let kept!: Tensor, keptList!: Tensor[];
    tidy(() => {
      tidy(() => {
        kept = keep(T.ones([2]));
        keptList = keep([T.ones([1]), T.zeros([1])]);
      });
    });
    assert.equal(kept.isDisposed, false);
    assert.equal(kept.kept, true);
    assert.equal(kept.scope, null);
    assert.ok(keptList.every((t) => !t.isDisposed));
    dispose([kept, keptList]);
    assert.equal(kept.isDisposed, true);
  });

  test("rethrows the error and frees the scope's tensors", () => {
    let a!: Tensor;
    const outer = tidy(() => {
      assert.throws(
        () =>
          tidy(() => {
            a = T.ones([2]);
            throw new RangeError("boom");
          }),
        (err: unknown) => err instanceof RangeError && err.message === "boom",
      );
      assert.equal(a.isDisposed, true);
      return T.ones([1]); // the outer scope still works after the inner one threw
    });
    assert.equal(outer.isDisposed, false);
    outer.dispose();
    // A libtorch error inside tidy is rethrown too.
    let b!: Tensor;
    assert.throws(() => tidy(() => (b = T.ones([2, 3])).matmul(T.ones([2, 3]))), TorchError);
    assert.equal(b.isDisposed, true);
  });

  test("an async fn is rejected with a clear error and its tensors are freed", async () => {
    let a!: Tensor;
    const fn = async (): Promise<Tensor> => {
      a = T.ones([2]);
      return a;
    };
    assert.throws(() => tidy(fn as never), (err: unknown) => err instanceof TypeError && /tidy.*Promise.*synchronous/.test(err.message));
    assert.equal(a.isDisposed, true);
    // The scope stack is intact: tensors created now belong to no scope.
    const later = T.ones([1]);
    assert.equal(later.scope, null);
    later.dispose();
  });

  test("tensors made outside any scope are unmanaged; inside, hand disposal untracks them", () => {
    const free = T.ones([1]);
    assert.equal(free.scope, null);
    free.dispose();
    tidy(() => {
      const t = T.ones([1]);
      const scope = t.scope!;
      assert.ok(scope.owned.has(t));
      t.dispose();
      assert.equal(scope.owned.has(t), false);
    });
  });
});

describe("dispose", () => {
  test("dispose() twice is fine", () => {
    const t = T.ones([2]);
    t.dispose();
    t.dispose();
    assert.equal(t.isDisposed, true);
    dispose(t);
    assert.equal(String(t), "Tensor(<disposed>)");
  });

  test("using a disposed tensor throws a TorchError mentioning 'disposed'", () => {
    const t = T.ones([2]);
    t.dispose();
    const other = T.ones([2]);
    const uses: [string, () => unknown][] = [
      ["method", () => t.add(1)],
      ["as an argument", () => other.add(t)],
      ["in a list argument", () => T.cat([other, t])],
      ["shape", () => t.shape],
      ["toArray", () => t.toArray()],
      ["item", () => t.item()],
      ["in-place", () => t.add_(1)],
      ["backward", () => t.backward()],
      ["sharedTypedArray", () => t.sharedTypedArray()],
    ];
    for (const [what, use] of uses) {
      assert.throws(use, (err: unknown) => err instanceof TorchError && /disposed/.test(err.message), what);
    }
    other.dispose();
  });

  test("views and graphs keep their own reference to disposed data", () => {
    const base = tensor([1, 2, 3, 4]);
    const view = base.view([2, 2]);
    base.dispose();
    assert.deepEqual(view.toArray(), [1, 2, 3, 4]);
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x);
    const loss = y.sum();
    y.dispose(); // the graph still holds y's data and x
    loss.backward();
    assert.deepEqual(x.grad!.toArray(), [2, 4]);
    dispose([view, x, loss]);
  });
});
