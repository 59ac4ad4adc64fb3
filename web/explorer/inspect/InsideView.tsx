/** Placeholder view: its area's owner replaces it. */
export function InsideView(_props: { active?: boolean }) {
  return <p class="note">This part of the explorer is being built.</p>;
}
