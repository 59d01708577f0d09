// Rows whose embedding has another number of dimensions than their embedding space's "dimension": corruption
// the dimension trigger refuses (core/vector-indexes/wrong-dimension.ts says how they come about and decides
// what such a row is). A calibration of their dimension fails on them, and so does a search of their tenant's
// space, so apply names them once it has failed; health looks for them in every space beforehand, as
// embedding-looks.ts says.
import { rowsText } from "../count-format";
import {
  WRONG_DIMENSION_CAUSE,
  wrongDimensionCorrection,
  wrongDimensionRowsSql,
  wrongDimensionTest,
} from "../vector-indexes/wrong-dimension";
import { listedIds, type EmbeddingLook } from "./embedding-looks";

export const WRONG_DIMENSION_LOOK: EmbeddingLook = {
  what: "embeddings of another dimension than their embedding space",
  flag: "wrongDimension",
  where: wrongDimensionTest,
  found: (table, reading, one) => ({
    problem:
      `${rowsText(reading.rows!)} whose embedding has another number of dimensions than ${one ? "its" : "their"} ` +
      `embedding space (${listedIds(reading)}): ${WRONG_DIMENSION_CAUSE}; apply's calibration of the space's ` +
      `dimension, and a search that reads ${one ? "it" : "them"}, fail on pgvector's "different vector dimensions"`,
    action: `list ${one ? "it" : "them"} with: ${wrongDimensionRowsSql(table)}; ${wrongDimensionCorrection(table)}`,
  }),
};
