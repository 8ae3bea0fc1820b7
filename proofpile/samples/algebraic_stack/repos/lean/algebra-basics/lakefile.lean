import Lake
open Lake DSL

package «algebra-basics» where
  leanOptions := #[⟨`autoImplicit, false⟩]

@[default_target]
lean_lib AlgebraBasics where
  roots := #[`AlgebraBasics]
