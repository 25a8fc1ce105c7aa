/**
 * Answers kept per topic until anything they depend on changes (a subscription): a gateway publishes to a few
 * hundred topics (a verdict and a reject topic per station), so each is worked out once. At most `max` topics
 * are kept; beyond, the memo starts over.
 */
export class TopicMemo<T> {
  private readonly answers = new Map<string, T>();
  /** Bumped by every clear(): an answer worked out across a change (awaited meanwhile) is not kept. */
  generation = 0;

  constructor(private readonly max = 4096) {}

  get(topic: string): T | undefined {
    return this.answers.get(topic);
  }

  /** Keep `answer` for `topic`, unless the memo was cleared since `generation` (when the answer was begun). */
  set(topic: string, answer: T, generation = this.generation): void {
    if (generation !== this.generation) return;
    if (this.answers.size >= this.max) this.answers.clear();
    this.answers.set(topic, answer);
  }

  clear(): void {
    this.generation++;
    this.answers.clear();
  }
}
