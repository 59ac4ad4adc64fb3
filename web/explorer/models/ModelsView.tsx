/** Placeholder view: its area's owner replaces it. */
export function ModelsView(_props: { active?: boolean }) {
  return <p class="note">This part of the explorer is being built.</p>;
}
