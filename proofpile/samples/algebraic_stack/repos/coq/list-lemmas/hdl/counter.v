// Proof-of-concept four-bit counter with synchronous reset.
// This is Verilog, not Coq: it shares the .v extension.
// Part of a sample repository.

module counter (
    input  wire       clk,
    input  wire       rst,
    output reg  [3:0] count
);
  wire carry = &count;

  // synthesis pragma: keep the register
  always @(posedge clk or negedge rst) begin
    if (!rst)
      count <= 4'b0000;
    else
      count <= count + 4'b0001;
  end
endmodule
