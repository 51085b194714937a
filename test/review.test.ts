/**
 * The answer's text (admission/review.ts answerJson) is written out by hand for speed: for any
 * answer reviewResponse makes, it must be exactly JSON.stringify's, and its patch must be the
 * base64 of the patch's UTF-8 JSON, whatever the patch holds (ASCII or not).
 */
import fc from 'fast-check';
import {answerJson, REVIEW_API_VERSIONS, reviewResponse, type AdmissionReviewRequest} from '../functions/admission/review';

const SEED = 20261201;
const text = fc.oneof(fc.string(), fc.string({unit: 'grapheme'}), fc.string({unit: 'binary'}), fc.constantFrom('"', '\\', '\u0000', '\u2028', 'ü', '😀', '\ud800'));

describe('answerJson', () => {
  it('is JSON.stringify of the answer, and the patch is base64 of its UTF-8 JSON', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REVIEW_API_VERSIONS),
        text,
        fc.option(fc.array(fc.record({op: fc.constant('add'), path: text, value: fc.jsonValue()}), {maxLength: 4}), {nil: undefined}),
        fc.array(text, {maxLength: 3}),
        (apiVersion, uid, patch, warnings) => {
          const review = {apiVersion, kind: 'AdmissionReview', request: {uid, kind: {group: '', version: 'v1', kind: 'Pod'}, operation: 'CREATE'}} as AdmissionReviewRequest;
          const answer = reviewResponse(review, patch, warnings);
          expect(answerJson(answer)).toBe(JSON.stringify(answer));
          if (patch !== undefined && patch.length > 0) expect(Buffer.from(answer.response.patch!, 'base64')).toEqual(Buffer.from(JSON.stringify(patch), 'utf8'));
          else expect(answer.response.patch).toBeUndefined();
        },
      ),
      {seed: SEED, numRuns: 1000},
    );
  });
});
